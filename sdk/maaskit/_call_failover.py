"""Where a call goes after a failed attempt: the same route rotated, an untried endpoint, or
one with a larger context.

Plain functions of the route (``candidates``, best first) and of what the call has done so far
(``tried``: endpoint names in attempt order; ``refused``: names whose provider cannot express
the request). They run only after a failure, so ``Call`` calls them from its tenacity hooks.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from ._endpoint import Endpoint
from ._exceptions import APIError, APIStatusError
from ._failures import is_context_error
from ._router import Router

__all__ = ["failover_target", "first_available", "retry_target", "untried"]


def untried(
    candidates: Sequence[Endpoint], tried: Collection[str], refused: Collection[str]
) -> list[Endpoint]:
    """The route's endpoints this call has neither tried nor found unable to express it."""
    return [e for e in candidates if e.name not in tried and e.name not in refused]


def first_available(endpoints: Iterable[Endpoint], router: Router, now: float) -> Endpoint | None:
    """The first of ``endpoints`` whose breaker and ``Retry-After`` let an attempt through."""
    for other in endpoints:
        if router.available(other.name, now):
            return other
    return None


def retry_target(
    candidates: Sequence[Endpoint],
    endpoint: Endpoint,
    tried: Collection[str],
    router: Router,
    now: float,
) -> Endpoint | None:
    """After a retryable failure on ``endpoint``: the next endpoint of the route this call has
    not tried, else the route again from the top (the same endpoint, for a single one)."""
    start = next((i for i, e in enumerate(candidates) if e.name == endpoint.name), -1)
    rotated = [*candidates[start + 1 :], *candidates[: start + 1]]
    fresh = [e for e in rotated if e.name not in tried]
    return first_available(fresh + [e for e in rotated if e.name in tried], router, now)


def failover_target(
    error: APIError,
    endpoint: Endpoint,
    candidates: Sequence[Endpoint],
    tried: Collection[str],
    refused: Collection[str],
) -> Endpoint | None:
    """Where a failure that is not retryable by itself may still go: an untried endpoint
    for a status the endpoint lists, a larger context for a context-length 400."""
    if not isinstance(error, APIStatusError):
        return None
    others = untried(candidates, tried, refused)
    if error.status_code == 400 and is_context_error(error):
        limit = endpoint.max_context
        for other in others:
            if other.max_context is not None and (limit is None or other.max_context > limit):
                return other
        return None
    if error.status_code in endpoint.failover_statuses:
        return others[0] if others else None
    return None
