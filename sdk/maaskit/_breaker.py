"""A circuit breaker per endpoint: stop sending to a backend that keeps failing, probe it later.

Only failures another attempt could fix count (connection errors, timeouts, 408/409/429/5xx):
a 400 says nothing about the backend's health. The breaker opens after
``failure_threshold`` such failures in a row, or when at least ``min_calls`` outcomes in the
last ``window`` seconds failed at ``failure_rate`` or more. While open, the endpoint is skipped
until ``retry_at`` (the cooldown, or the backend's ``Retry-After`` when that is later); then one
call probes it (half-open): success closes the breaker, failure opens it again with the
cooldown doubled, up to ``max_cooldown``. This is the opposite of LiteLLM's opaque cooldowns:
the state is plain data (``client.router.health()``) and driven by an injected clock, so every
transition is testable without sleeping.
"""

from __future__ import annotations

import collections
import enum
import math
from dataclasses import dataclass

__all__ = ["BreakerPolicy", "BreakerState", "CircuitBreaker"]


class BreakerState(str, enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerPolicy:
    """When an endpoint's breaker opens and for how long (seconds)."""

    failure_threshold: int = 3
    failure_rate: float = 0.5
    min_calls: int = 10
    window: float = 60.0
    cooldown: float = 30.0
    max_cooldown: float = 300.0

    def __post_init__(self) -> None:
        if isinstance(self.failure_threshold, bool) or self.failure_threshold < 1:
            raise ValueError("BreakerPolicy: failure_threshold must be an int >= 1")
        if not 0 < self.failure_rate <= 1:
            raise ValueError("BreakerPolicy: failure_rate must be in (0, 1]")
        if isinstance(self.min_calls, bool) or self.min_calls < 1:
            raise ValueError("BreakerPolicy: min_calls must be an int >= 1")
        for name in ("window", "cooldown", "max_cooldown"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"BreakerPolicy: {name} must be > 0 seconds")
        if self.max_cooldown < self.cooldown:
            raise ValueError("BreakerPolicy: max_cooldown must be >= cooldown")


class CircuitBreaker:
    """The state of one endpoint's breaker. Not thread-safe: the router holds a lock."""

    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.opened_at: float | None = None
        self.retry_at: float | None = None
        self.times_opened = 0
        self._probe_in_flight = False
        self._reopen_count = 0
        self._outcomes: collections.deque[tuple[float, bool]] = collections.deque()

    def _expire(self, now: float) -> None:
        horizon = now - self.policy.window
        while self._outcomes and self._outcomes[0][0] < horizon:
            self._outcomes.popleft()

    def available(self, now: float) -> bool:
        """Whether a call may go to this endpoint now (without claiming the probe)."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            return self.retry_at is not None and now >= self.retry_at
        return not self._probe_in_flight

    def acquire(self, now: float) -> bool:
        """Claim the right to send one attempt; a half-open breaker lets one probe through."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            if self.retry_at is None or now < self.retry_at:
                return False
            self.state = BreakerState.HALF_OPEN
        if self._probe_in_flight:
            return False
        self._probe_in_flight = True
        return True

    def release(self) -> None:
        """An attempt that claimed the probe ended without an outcome that counts."""
        self._probe_in_flight = False

    def record_success(self, now: float) -> bool:
        """Returns whether this success closed an open or half-open breaker (a recovery)."""
        recovered = self.state is not BreakerState.CLOSED
        self._probe_in_flight = False
        self.consecutive_failures = 0
        self._outcomes.append((now, True))
        self._expire(now)
        if recovered:
            self.state = BreakerState.CLOSED
            self.opened_at = None
            self.retry_at = None
            self._reopen_count = 0
            # A recovered backend starts with a clean window, or its old failures would
            # reopen it on the next hiccup.
            self._outcomes.clear()
        return recovered

    def record_failure(self, now: float, retry_after: float | None = None) -> None:
        self.consecutive_failures += 1
        self._outcomes.append((now, False))
        self._expire(now)
        if self.state is BreakerState.HALF_OPEN:
            self._probe_in_flight = False
            self._reopen_count += 1
            self._open(now, retry_after)
            return
        if self.state is BreakerState.OPEN:
            return
        failures = sum(1 for _, ok in self._outcomes if not ok)
        by_rate = (
            len(self._outcomes) >= self.policy.min_calls
            and failures / len(self._outcomes) >= self.policy.failure_rate
        )
        if self.consecutive_failures >= self.policy.failure_threshold or by_rate:
            self._open(now, retry_after)

    def _open(self, now: float, retry_after: float | None) -> None:
        cooldown = min(self.policy.cooldown * 2.0**self._reopen_count, self.policy.max_cooldown)
        if retry_after is not None and retry_after > cooldown:
            cooldown = retry_after
        self.state = BreakerState.OPEN
        self.opened_at = now
        self.retry_at = now + cooldown
        self.times_opened += 1
