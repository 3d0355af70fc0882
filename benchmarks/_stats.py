"""Latency summaries shared by every harness."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LatencySummary:
    count: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    # CPU time of the load generator itself per request (0 when not measured).
    client_cpu_ms: float = 0.0

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "count": self.count,
            "seconds": round(self.seconds, 4),
            "per_second": round(self.per_second, 2),
            "p50_ms": round(self.p50_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
            "client_cpu_ms_per_request": round(self.client_cpu_ms, 3),
        }


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[rank]


def summarise(
    latencies_s: list[float], wall_seconds: float, *, client_cpu_s: float = 0.0
) -> LatencySummary:
    ordered = sorted(latency * 1000.0 for latency in latencies_s)
    return LatencySummary(
        count=len(ordered),
        seconds=wall_seconds,
        p50_ms=percentile(ordered, 0.50),
        p95_ms=percentile(ordered, 0.95),
        p99_ms=percentile(ordered, 0.99),
        mean_ms=statistics.fmean(ordered) if ordered else 0.0,
        client_cpu_ms=client_cpu_s * 1000.0 / len(ordered) if ordered else 0.0,
    )


def median_of_cycles(cycles: list[dict[str, Any]]) -> dict[str, Any]:
    """Field by field median of the same nested figures, measured once per cycle."""
    first = cycles[0]
    return {
        key: median_of_cycles([cycle[key] for cycle in cycles])
        if isinstance(first[key], dict)
        else statistics.median(cycle[key] for cycle in cycles)
        for key in first
    }
