"""Request rate limits per API key (per client address when the server has no keys).

A token bucket per caller: it holds at most one minute's worth of requests and refills
continuously, so a caller may burst up to the limit and then goes at the limit's pace. Every
limited response carries OpenAI's ``x-ratelimit-*-requests`` headers; a refused request is a 429
in the protocol's error shape with ``Retry-After`` (whole seconds) and ``retry-after-ms``, which
the OpenAI SDK and maaskit's clients both honour.

Callers are told apart by the SHA-256 of their key, never the key itself, so no key is held in
memory longer than the request. Liveness and readiness probes are never limited.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import APIError, error_response
from .security import OPEN_PATHS, hash_key, presented_key

# Buckets of callers that came back to full are dropped past this many, so a stream of new
# client addresses cannot grow memory without bound.
_PRUNE_ABOVE = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    # Seconds until the next request would be allowed (0 when allowed).
    retry_after_s: float
    # Seconds until the bucket is full again.
    reset_s: float


class RateLimiter:
    def __init__(
        self, requests_per_minute: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.limit = requests_per_minute
        self._per_second = requests_per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, caller: str) -> Decision:
        """Spend one request of ``caller``'s bucket if there is one to spend."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(caller)
            if bucket is None:
                if len(self._buckets) >= _PRUNE_ABOVE:
                    self._prune(now)
                bucket = self._buckets[caller] = _Bucket(float(self.limit), now)
            bucket.tokens = min(
                float(self.limit), bucket.tokens + (now - bucket.updated) * self._per_second
            )
            bucket.updated = now
            allowed = bucket.tokens >= 1.0
            if allowed:
                bucket.tokens -= 1.0
            retry_after = 0.0 if allowed else (1.0 - bucket.tokens) / self._per_second
            return Decision(
                allowed=allowed,
                remaining=int(bucket.tokens),
                retry_after_s=retry_after,
                reset_s=(self.limit - bucket.tokens) / self._per_second,
            )

    def _prune(self, now: float) -> None:
        full_after = self.limit / self._per_second
        for caller in [c for c, b in self._buckets.items() if now - b.updated >= full_after]:
            del self._buckets[caller]

    def __repr__(self) -> str:
        return f"RateLimiter({self.limit} requests/min, {len(self._buckets)} callers)"


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        decision = self.limiter.take(_caller(scope))
        headers = {
            "x-ratelimit-limit-requests": str(self.limiter.limit),
            "x-ratelimit-remaining-requests": str(decision.remaining),
            "x-ratelimit-reset-requests": _duration(decision.reset_s),
        }
        if not decision.allowed:
            wait = decision.retry_after_s
            error = APIError(
                429,
                f"Rate limit reached: {self.limiter.limit} requests per minute. "
                f"Retry in {wait:.2f} s.",
                type="rate_limit_error",
                code="rate_limit_exceeded",
                headers={
                    **headers,
                    "Retry-After": str(max(1, math.ceil(wait))),
                    "retry-after-ms": str(max(1, math.ceil(wait * 1000))),
                },
            )
            await error_response(path, error)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in headers.items():
                    response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _caller(scope: Scope) -> str:
    key = presented_key(Headers(scope=scope))
    if key is not None:
        return "key:" + hash_key(key).hex()
    client = scope.get("client")
    return "addr:" + (str(client[0]) if client else "unknown")


def _duration(seconds: float) -> str:
    """OpenAI's style for reset times: ``1m30s``, ``2.5s``, ``120ms``."""
    if seconds < 1.0:
        return f"{max(0, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60.0)
    if minutes >= 1:
        return f"{int(minutes)}m{rest:.0f}s"
    return f"{rest:.3g}s"
