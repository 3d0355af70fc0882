"""A client-wide retry budget, as gRPC's retry throttling and Finagle's retry budgets do.

Per-call retries are safe one call at a time and dangerous together: during an outage every
call retries, and a router that fails over multiplies the load on the next provider (LiteLLM's
proxy was measured making 9 upstream attempts for one call). The budget lets retries add at
most ``ratio`` of the first attempts made in the last ``window`` seconds, plus
``min_retries`` per window so a client that makes few calls can still retry them.
"""

from __future__ import annotations

import collections
import math
import threading
from dataclasses import dataclass

__all__ = ["RetryBudget", "RetryThrottle"]


@dataclass(frozen=True)
class RetryBudget:
    ratio: float = 0.2
    min_retries: int = 10
    window: float = 10.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.ratio) or self.ratio < 0:
            raise ValueError("RetryBudget: ratio must be a number >= 0")
        if isinstance(self.min_retries, bool) or self.min_retries < 0:
            raise ValueError("RetryBudget: min_retries must be an int >= 0")
        if not math.isfinite(self.window) or self.window <= 0:
            raise ValueError("RetryBudget: window must be > 0 seconds")


class RetryThrottle:
    """The budget's state: first attempts and retries in the current window."""

    def __init__(self, budget: RetryBudget) -> None:
        self.budget = budget
        self._lock = threading.Lock()
        self._firsts: collections.deque[float] = collections.deque()
        self._retries: collections.deque[float] = collections.deque()
        self.denied = 0

    def _expire(self, now: float) -> None:
        horizon = now - self.budget.window
        for times in (self._firsts, self._retries):
            while times and times[0] < horizon:
                times.popleft()

    def first_attempt(self, now: float) -> None:
        with self._lock:
            self._firsts.append(now)
            self._expire(now)

    def try_retry(self, now: float) -> bool:
        """Spend one retry if the budget has one left."""
        with self._lock:
            self._expire(now)
            allowed = self.budget.min_retries + self.budget.ratio * len(self._firsts)
            if len(self._retries) + 1 > allowed:
                self.denied += 1
                return False
            self._retries.append(now)
            return True
