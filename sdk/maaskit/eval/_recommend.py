"""Recommendations from a report, and the Pareto fronts the plot marks."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ._report import EndpointResult, Recommendation

__all__ = ["DEFAULT_MAX_ERROR_RATE", "pareto_front", "recommend"]

#: Endpoints failing more calls than this are never recommended.
DEFAULT_MAX_ERROR_RATE = 0.05


def _cost(entry: EndpointResult) -> float:
    # An endpoint without a price sorts after every priced one: its cost is unknown, not zero.
    return entry.cost_per_1k if entry.cost_per_1k is not None else math.inf


def _p95(entry: EndpointResult) -> float:
    return entry.latency_p95_ms if entry.latency_p95_ms is not None else math.inf


def _pick(
    candidates: Sequence[EndpointResult], key: Callable[[EndpointResult], tuple[float, ...]]
) -> EndpointResult | None:
    return min(candidates, key=key) if candidates else None


def recommend(
    endpoints: Sequence[EndpointResult],
    *,
    min_quality: float | None = None,
    max_p95_ms: float | None = None,
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE,
) -> list[Recommendation]:
    """Best quality, cheapest, fastest (by p95), and, when a bound is given, ``best_value``:
    the cheapest endpoint whose quality ≥ ``min_quality`` and p95 ≤ ``max_p95_ms``, the
    faster one on a tie. Only endpoints that answered and failed at most ``max_error_rate``
    of their calls are candidates; ties break on the other criteria, then on the order
    given."""
    usable = [e for e in endpoints if e.quality is not None and e.error_rate <= max_error_rate]

    def quality(e: EndpointResult) -> float:
        return e.quality if e.quality is not None else -math.inf

    picks: list[tuple[str, EndpointResult | None, str]] = []
    best = _pick(usable, lambda e: (-quality(e), _cost(e), _p95(e)))
    picks.append(("best_quality", best, f"quality {best.quality:.4f}" if best else "no candidate"))
    priced = [e for e in usable if e.cost_per_1k is not None]
    cheap = _pick(priced, lambda e: (_cost(e), -quality(e), _p95(e)))
    picks.append(
        (
            "cheapest",
            cheap,
            f"${cheap.cost_per_1k:.6f} per 1,000 inputs" if cheap else "no endpoint has a price",
        )
    )
    timed = [e for e in usable if e.latency_p95_ms is not None]
    fast = _pick(timed, lambda e: (_p95(e), -quality(e), _cost(e)))
    picks.append(("fastest", fast, f"p95 {fast.latency_p95_ms:.1f} ms" if fast else "no candidate"))
    if min_quality is not None or max_p95_ms is not None:
        bounds = []
        if min_quality is not None:
            bounds.append(f"quality ≥ {min_quality:g}")
        if max_p95_ms is not None:
            bounds.append(f"p95 ≤ {max_p95_ms:g} ms")
        eligible = [
            e
            for e in usable
            if (min_quality is None or quality(e) >= min_quality)
            and (max_p95_ms is None or _p95(e) <= max_p95_ms)
        ]
        value = _pick(eligible, lambda e: (_cost(e), _p95(e), -quality(e)))
        reason = "cheapest with " + " and ".join(bounds)
        picks.append(("best_value", value, reason if value else f"nothing meets {reason[13:]}"))
    results = []
    for rule, entry, reason in picks:
        results.append(
            Recommendation(rule=rule, endpoint=entry.name if entry else None, reason=reason)
        )
    return results


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point dominates, minimising x and maximising y (a point
    dominates another when it is no worse on both and better on one), sorted by x."""
    front = []
    for i, (x, y) in enumerate(points):
        dominated = any(
            (ox <= x and oy >= y) and (ox < x or oy > y)
            for j, (ox, oy) in enumerate(points)
            if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][0], -points[i][1]))
