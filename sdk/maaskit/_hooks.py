"""The per-attempt hook: one call per HTTP attempt, for logging and metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ._exceptions import MaaSError

__all__ = ["AttemptEvent", "AttemptHook"]


@dataclass(frozen=True)
class AttemptEvent:
    """``attempt`` is 1-based. Exactly one of ``response`` and ``error`` is set, except for a
    status error, which carries both. ``request.headers`` include credentials: redact them
    (``maaskit.redact_headers``) before logging."""

    request: httpx.Request
    attempt: int
    response: httpx.Response | None = None
    error: MaaSError | None = None
    endpoint: str | None = None  # the name of the Endpoint the attempt went to


AttemptHook = Callable[[AttemptEvent], None]
