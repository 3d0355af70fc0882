"""The usage ledger: what every attempt cost, per endpoint and model, and what budgets allow.

Each HTTP attempt is one entry: a failed attempt is a call the backend saw (and may bill), so
counting only successful calls would hide what an outage cost. Latency and time to first
chunk keep the last ``SAMPLES`` values per endpoint and model, enough for a stable p95 and
bounded in memory.
"""

from __future__ import annotations

import collections
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from ._endpoint import Budget

__all__ = ["Ledger", "UsageEntry", "UsageReport"]

SAMPLES = 1024


class UsageEntry(BaseModel):
    """Totals for one endpoint and model. Times are milliseconds, costs US dollars."""

    endpoint: str
    model: str
    calls: int = 0
    successes: int = 0
    failures: dict[str, int] = Field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None


class UsageReport(BaseModel):
    """``client.usage()``: a snapshot; ``model_dump_json()`` serialises it."""

    entries: list[UsageEntry]
    calls: int
    cost: float
    prompt_tokens: int
    completion_tokens: int

    def for_endpoint(self, name: str) -> list[UsageEntry]:
        return [entry for entry in self.entries if entry.endpoint == name]


def percentile(samples: list[float], q: float) -> float | None:
    """Nearest-rank percentile (no interpolation: a reported p95 is a latency that happened)."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(math.ceil(q * len(ordered)) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]


@dataclass
class _Totals:
    calls: int = 0
    successes: int = 0
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.0
    latency: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=SAMPLES)
    )
    ttft: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=SAMPLES)
    )


@dataclass(frozen=True)
class Charge:
    """What one successful attempt used."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.0


class Ledger:
    """Thread-safe; shared by every call of one client (and its ``with_options`` copies)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._totals: dict[tuple[str, str], _Totals] = {}
        # (time, endpoint, cost) of every charge, for budgets with a period.
        self._spending: collections.deque[tuple[float, str, float]] = collections.deque()
        self._longest_period: float | None = 0.0

    def watch_period(self, budget: Budget | None) -> None:
        """Keep spending history as long as the longest budget period needs."""
        if budget is None:
            return
        with self._lock:
            if budget.period is None:
                self._longest_period = None
            elif self._longest_period is not None:
                self._longest_period = max(self._longest_period, budget.period)

    def _entry(self, endpoint: str, model: str) -> _Totals:
        key = (endpoint, model)
        totals = self._totals.get(key)
        if totals is None:
            totals = self._totals[key] = _Totals()
        return totals

    def record_success(
        self,
        endpoint: str,
        model: str,
        charge: Charge,
        latency: float,
        ttft: float | None = None,
    ) -> None:
        now = self._clock()
        with self._lock:
            totals = self._entry(endpoint, model)
            totals.calls += 1
            totals.successes += 1
            totals.prompt_tokens += charge.prompt_tokens
            totals.completion_tokens += charge.completion_tokens
            totals.cached_tokens += charge.cached_tokens
            totals.reasoning_tokens += charge.reasoning_tokens
            totals.cost += charge.cost
            totals.latency.append(latency * 1000)
            if ttft is not None:
                totals.ttft.append(ttft * 1000)
            if charge.cost:
                self._spending.append((now, endpoint, charge.cost))
                self._prune(now)

    def record_failure(self, endpoint: str, model: str, kind: str, latency: float) -> None:
        with self._lock:
            totals = self._entry(endpoint, model)
            totals.calls += 1
            totals.failures[kind] += 1
            totals.latency.append(latency * 1000)

    def _prune(self, now: float) -> None:
        if self._longest_period is None:
            return
        horizon = now - self._longest_period
        while self._spending and self._spending[0][0] < horizon:
            self._spending.popleft()

    def spent(self, period: float | None, endpoint: str | None = None) -> float:
        """Dollars charged in the last ``period`` seconds (``None``: ever), optionally for one
        endpoint."""
        now = self._clock()
        with self._lock:
            if period is None:
                return sum(
                    totals.cost
                    for (name, _), totals in self._totals.items()
                    if endpoint is None or name == endpoint
                )
            horizon = now - period
            return sum(
                cost
                for at, name, cost in self._spending
                if at >= horizon and (endpoint is None or name == endpoint)
            )

    def snapshot(self) -> UsageReport:
        with self._lock:
            entries = [
                UsageEntry(
                    endpoint=endpoint,
                    model=model,
                    calls=totals.calls,
                    successes=totals.successes,
                    failures=dict(totals.failures),
                    prompt_tokens=totals.prompt_tokens,
                    completion_tokens=totals.completion_tokens,
                    cached_tokens=totals.cached_tokens,
                    reasoning_tokens=totals.reasoning_tokens,
                    cost=totals.cost,
                    latency_p50_ms=percentile(list(totals.latency), 0.50),
                    latency_p95_ms=percentile(list(totals.latency), 0.95),
                    ttft_p50_ms=percentile(list(totals.ttft), 0.50),
                    ttft_p95_ms=percentile(list(totals.ttft), 0.95),
                )
                for (endpoint, model), totals in self._totals.items()
            ]
        return UsageReport(
            entries=entries,
            calls=sum(e.calls for e in entries),
            cost=sum(e.cost for e in entries),
            prompt_tokens=sum(e.prompt_tokens for e in entries),
            completion_tokens=sum(e.completion_tokens for e in entries),
        )
