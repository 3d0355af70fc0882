"""Sans-I/O retry policy: which failures are retried, and how long to wait before the next try.

Both transports hand this policy to tenacity, so the sync and async paths decide identically.

Defaults (the same shape as the official openai client, with full jitter):

* ``max_retries = 2`` → at most 3 attempts per call;
* backoff before retry *n* (1-based) is ``uniform(0, min(8.0, 0.5 * 2 ** (n - 1)))`` seconds
  ("full jitter": spreads a thundering herd of clients evenly);
* a ``retry-after-ms`` or ``Retry-After`` header (seconds or HTTP-date) replaces the backoff;
  above ``max_retry_after = 60`` seconds the call is not retried, since waiting that long
  inside a call is worse than failing it;
* ``x-should-retry: true/false`` from the server overrides the status-based decision;
* without those headers, a wait the provider read from the error body (``retry_hint``, e.g.
  Hugging Face's ``estimated_time`` while a model loads) replaces the backoff, capped at
  ``max_retry_after`` (an estimate, so a long one is still worth one capped wait).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ._exceptions import APIConnectionError, APIStatusError

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy"]

# 408 timeout, 409 lock conflict, 429 rate limit; every 5xx (including Anthropic-style 529).
RETRYABLE_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to retry. ``jitter`` returns a number in [0, 1); inject a constant to
    make delays deterministic (the tests do)."""

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    jitter: Callable[[], float] = field(default=random.random, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise TypeError(f"max_retries must be an int, got {type(self.max_retries).__name__}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        for name in ("initial_backoff", "max_backoff", "max_retry_after"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    def is_retryable(self, error: BaseException) -> bool:
        """Whether this failure may succeed on another attempt (ignoring the attempt count)."""
        if isinstance(error, APIStatusError):
            override = error.headers.get("x-should-retry")
            if override == "true":
                return True
            if override == "false":
                return False
            if not (error.status_code in RETRYABLE_STATUSES or error.status_code >= 500):
                return False
            wait = self.retry_after(error.headers)
            return wait is None or wait <= self.max_retry_after
        return isinstance(error, APIConnectionError)

    def delay(self, retry_number: int, error: BaseException | None) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        if isinstance(error, APIStatusError):
            wait = self.retry_after(error.headers)
            if wait is not None:
                return wait
            if error.retry_hint is not None and error.retry_hint >= 0:
                return min(error.retry_hint, self.max_retry_after)
        return self.backoff(retry_number)

    def backoff(self, retry_number: int) -> float:
        ceiling = min(self.max_backoff, self.initial_backoff * 2.0 ** max(retry_number - 1, 0))
        return self.jitter() * ceiling

    def retry_after(self, headers: Mapping[str, str]) -> float | None:
        """The server's requested wait in seconds, or ``None`` if it gave none we can read."""
        millis = headers.get("retry-after-ms")
        if millis is not None:
            try:
                value = float(millis) / 1000
            except ValueError:
                value = -1
            if value >= 0:
                return value
        header = headers.get("retry-after")
        if header is None:
            return None
        try:
            seconds = float(header)
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(header)
            except (TypeError, ValueError, IndexError):
                return None
            seconds = parsed.timestamp() - self.clock()
            # A date in the past means "now".
            return max(seconds, 0.0)
        return seconds if seconds >= 0 else None
