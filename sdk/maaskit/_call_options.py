"""Per-call options, as the official openai client has them: consumed by the SDK, never sent.

``timeout`` and ``max_retries`` override the client's for one call; ``extra_headers``,
``extra_query`` and ``extra_body`` add to (and win over) what the provider builds;
``idempotency_key`` replaces the one maaskit makes, so an app that retries a call itself can
have the server run it once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._config import Timeout
from ._exceptions import InvalidRequestTypeError
from ._options import ClientOptions, check_headers

__all__ = ["CALL_OPTIONS", "CallOptions", "split_call_options"]

CALL_OPTIONS = (
    "timeout",
    "max_retries",
    "extra_headers",
    "extra_query",
    "extra_body",
    "idempotency_key",
)


@dataclass(frozen=True)
class CallOptions:
    timeout: Timeout | None = None
    max_retries: int | None = None
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    extra_query: Mapping[str, str] = field(default_factory=dict)
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None

    def apply(self, options: ClientOptions) -> ClientOptions:
        if self.timeout is None and self.max_retries is None:
            return options
        unset = frozenset(
            name
            for name, value in (("timeout", self.timeout), ("max_retries", self.max_retries))
            if value is None
        ) | {"retry_policy", "default_headers", "on_attempt"}
        return options.replace(timeout=self.timeout, max_retries=self.max_retries, unset=unset)


def split_call_options(params: dict[str, Any]) -> tuple[dict[str, Any], CallOptions | None]:
    """Take the per-call options out of a method's keyword arguments (the rest is the body)."""
    if not any(name in params for name in CALL_OPTIONS):
        return params, None
    rest = dict(params)
    found = {name: rest.pop(name) for name in CALL_OPTIONS if name in rest}
    timeout = found.get("timeout")
    retries = found.get("max_retries")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int)):
        raise InvalidRequestTypeError(f"max_retries must be an int, got {retries!r}")
    key = found.get("idempotency_key")
    if key is not None and (not isinstance(key, str) or not key.strip()):
        raise InvalidRequestTypeError("idempotency_key must be a non-empty str")
    body = found.get("extra_body") or {}
    if not isinstance(body, Mapping):
        raise InvalidRequestTypeError("extra_body must be a mapping")
    options = CallOptions(
        timeout=None if timeout is None else Timeout.coerce(timeout),
        max_retries=retries,
        extra_headers=check_headers(found.get("extra_headers"), "extra_headers"),
        extra_query=check_headers(found.get("extra_query"), "extra_query"),
        extra_body=dict(body),
        idempotency_key=key,
    )
    return rest, options
