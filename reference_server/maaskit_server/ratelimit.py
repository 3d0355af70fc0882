"""Request and token rate limits per API key (per client address when the server has no keys).

Token buckets per caller: a bucket holds at most one minute's worth and refills continuously,
so a caller may burst up to the limit and then goes at the limit's pace. The request limit is
the key's own ``rpm`` (keys file) or the server's ``--rate-limit-rpm``; the token limit is the
key's ``tpm``. Tokens are known only once a request ran, so they are charged afterwards (the
bucket may go below zero) and a key whose token bucket is empty is refused until it refills,
as OpenAI and LiteLLM do. Limited responses carry OpenAI's ``x-ratelimit-*-requests`` and
``x-ratelimit-*-tokens`` headers; a refused request is a 429 in the protocol's error shape with
``Retry-After`` (whole seconds) and ``retry-after-ms``, which the OpenAI SDK and maaskit's
clients both honour.

Callers are told apart by the SHA-256 of their key, never the key itself. Liveness and
readiness probes are never limited. With several workers the buckets live in the shared SQLite
state (:mod:`maaskit_server.shared_state`), so N workers allow the limit, not N times it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import audit
from .errors import APIError, error_response
from .security import CALLER, OPEN_PATHS, hash_key, presented_key
from .shared_state import SharedState

# Buckets of callers that came back to full are dropped past this many, so a stream of new
# client addresses cannot grow memory without bound.
_PRUNE_ABOVE = 10_000


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    # Seconds until the next request would be allowed (0 when allowed).
    retry_after_s: float
    # Seconds until the bucket is full again.
    reset_s: float
    limit: int = 0


class Buckets(Protocol):
    def spend(
        self, name: str, capacity: float, per_second: float, amount: float, need: float, now: float
    ) -> tuple[bool, float]:
        """Refill bucket ``name``, then take ``amount`` if it holds at least ``need``.

        Returns whether it did and what the bucket holds afterwards."""
        ...


def _refill(tokens: float, updated: float, capacity: float, per_second: float, now: float) -> float:
    return min(capacity, tokens + max(0.0, now - updated) * per_second)


class MemoryBuckets:
    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def spend(
        self, name: str, capacity: float, per_second: float, amount: float, need: float, now: float
    ) -> tuple[bool, float]:
        with self._lock:
            if name not in self._buckets and len(self._buckets) >= _PRUNE_ABOVE:
                self._prune(now)
            tokens, updated = self._buckets.get(name, (capacity, now))
            tokens = _refill(tokens, updated, capacity, per_second, now)
            allowed = tokens >= need
            if allowed:
                tokens -= amount
            self._buckets[name] = (tokens, now)
            return allowed, tokens

    def _prune(self, now: float) -> None:
        # Dropping a bucket that would be full by now loses nothing: a new one starts full.
        for name in [n for n, (_, updated) in self._buckets.items() if now - updated >= 60.0]:
            del self._buckets[name]

    def __len__(self) -> int:
        return len(self._buckets)


class SharedBuckets:
    """The same buckets in the workers' shared SQLite state, one transaction per spend."""

    def __init__(self, state: SharedState) -> None:
        self._state = state

    def spend(
        self, name: str, capacity: float, per_second: float, amount: float, need: float, now: float
    ) -> tuple[bool, float]:
        with self._state.transaction() as db:
            row = db.execute(
                "SELECT tokens, updated FROM buckets WHERE name = ?", (name,)
            ).fetchone()
            tokens = capacity if row is None else _refill(row[0], row[1], capacity, per_second, now)
            allowed = tokens >= need
            if allowed:
                tokens -= amount
            db.execute(
                "INSERT INTO buckets (name, tokens, updated) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens, "
                "updated = excluded.updated",
                (name, tokens, now),
            )
            if row is None:
                # New callers are rare: drop the buckets that have been full for a while.
                db.execute("DELETE FROM buckets WHERE updated < ?", (now - 3600.0,))
            return allowed, tokens


class RateLimiter:
    def __init__(
        self,
        requests_per_minute: int,
        *,
        clock: Callable[[], float] = time.time,
        buckets: Buckets | None = None,
    ) -> None:
        if requests_per_minute < 0:
            raise ValueError("requests_per_minute must be 0 (no limit) or more")
        self.limit = requests_per_minute
        # Wall-clock time by default: the shared buckets are compared across processes.
        self._clock = clock
        self.buckets: Buckets = buckets if buckets is not None else MemoryBuckets()

    def take(self, caller: str, limit: int | None = None) -> Decision:
        """Spend one request of ``caller``'s bucket (of ``limit`` a minute) if there is one."""
        limit = self.limit if limit is None else limit
        if limit < 1:
            raise ValueError("a request limit must be at least 1 a minute")
        per_second = limit / 60.0
        allowed, tokens = self.buckets.spend(
            "req:" + caller, float(limit), per_second, 1.0, 1.0, self._clock()
        )
        return _decision(allowed, tokens, limit, per_second)

    def check_tokens(self, caller: str, limit: int) -> Decision:
        """Whether ``caller`` has tokens left of its ``limit`` a minute (spends none)."""
        per_second = limit / 60.0
        allowed, tokens = self.buckets.spend(
            "tok:" + caller, float(limit), per_second, 0.0, 1.0, self._clock()
        )
        return _decision(allowed, tokens, limit, per_second)

    def charge_tokens(self, caller: str, limit: int, used: int) -> Decision:
        """Spend the ``used`` tokens of a request that ran (the bucket may go below zero)."""
        per_second = limit / 60.0
        _, tokens = self.buckets.spend(
            "tok:" + caller, float(limit), per_second, float(used), -math.inf, self._clock()
        )
        return _decision(True, tokens, limit, per_second)

    def __repr__(self) -> str:
        return f"RateLimiter({self.limit} requests/min, {type(self.buckets).__name__})"


def _decision(allowed: bool, tokens: float, limit: int, per_second: float) -> Decision:
    retry_after = 0.0 if allowed else (1.0 - tokens) / per_second
    return Decision(
        allowed=allowed,
        remaining=max(0, int(tokens)),
        retry_after_s=retry_after,
        reset_s=(limit - tokens) / per_second,
        limit=limit,
    )


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        record = CALLER.get()
        request_limit = self.limiter.limit
        token_limit = 0
        if record is not None:
            request_limit = record.requests_per_minute or request_limit
            token_limit = record.tokens_per_minute or 0
        if not request_limit and not token_limit:
            await self.app(scope, receive, send)
            return
        caller = _caller(scope)
        headers: dict[str, str] = {}
        refusal: Decision | None = None
        kind = "requests"
        if request_limit:
            decision = self.limiter.take(caller, request_limit)
            headers.update(_headers("requests", decision))
            refusal = None if decision.allowed else decision
        if token_limit:
            tokens = self.limiter.check_tokens(caller, token_limit)
            headers.update(_headers("tokens", tokens))
            if refusal is None and not tokens.allowed:
                refusal, kind = tokens, "tokens"
        if refusal is not None:
            wait = refusal.retry_after_s
            error = APIError(
                429,
                f"Rate limit reached: {refusal.limit} {kind} per minute. Retry in {wait:.2f} s.",
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

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            current = audit.CURRENT.get()
            used = 0 if current is None else current.prompt_tokens + current.completion_tokens
            if token_limit and used:
                self.limiter.charge_tokens(caller, token_limit, used)


def _headers(kind: str, decision: Decision) -> dict[str, str]:
    return {
        f"x-ratelimit-limit-{kind}": str(decision.limit),
        f"x-ratelimit-remaining-{kind}": str(decision.remaining),
        f"x-ratelimit-reset-{kind}": _duration(decision.reset_s),
    }


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
