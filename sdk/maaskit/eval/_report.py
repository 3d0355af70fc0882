"""The evaluation report: one entry per endpoint, as pydantic models and JSON.

The JSON is what ``client.router.load_eval`` reads: top-level ``task``, ``model`` and
``endpoints``, each endpoint with its ``name`` and ``quality`` (``null`` when the endpoint
answered nothing, so nothing was measured).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "QUALITY_METRICS",
    "REPORT_VERSION",
    "EndpointResult",
    "EvalReport",
    "Recommendation",
    "percentile",
]

REPORT_VERSION = 1

#: The metric each task reports as ``quality`` (in [0, 1], higher is better).
QUALITY_METRICS: dict[str, str] = {
    "classify": "macro_f1",
    "embed": "mrr",  # retrieval pairs; files of scored pairs only use max(0, spearman)
    "chat": "mean_score",
    "complete": "mean_score",
}


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile, as the client's usage ledger reports it (no
    interpolation: a reported p95 is a latency that happened); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class EndpointResult(BaseModel):
    """What one endpoint did on the data.

    ``quality`` is computed on the items it answered (``None`` if none); ``items`` are the
    data's rows, ``inputs`` the texts sent (the distinct texts of an embedding file),
    ``answered`` the inputs answered; ``error_rate`` is failed calls over calls made;
    ``skipped`` calls were not sent because the endpoint had failed every one of its first
    calls. Latencies are per call, successful calls only; throughput, tokens and cost are per
    answered input. ``cost_per_1k`` is ``None`` when the results carried no cost (no price).
    """

    name: str
    provider: str
    quality: float | None
    metrics: dict[str, Any] = Field(default_factory=dict)
    items: int
    inputs: int
    answered: int
    skipped: int = 0
    calls: int
    failures: dict[str, int] = Field(default_factory=dict)
    error_rate: float
    errors: dict[str, str] = Field(default_factory=dict)  # kind → first message seen
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_mean_ms: float | None = None
    throughput_per_s: float | None = None  # inputs answered per second of wall time
    wall_s: float = 0.0
    prompt_tokens_per_1k: float = 0.0
    completion_tokens_per_1k: float = 0.0
    cost_per_1k: float | None = None
    price: dict[str, float] | None = None


class Recommendation(BaseModel):
    rule: str  # best_quality | cheapest | fastest | best_value
    endpoint: str | None
    reason: str


class EvalReport(BaseModel):
    version: int = REPORT_VERSION
    task: str
    model: str
    data: str
    items: int
    concurrency: int
    quality_metric: str
    max_error_rate: float
    created_at: str
    endpoints: list[EndpointResult]
    recommendations: list[Recommendation] = Field(default_factory=list)

    def ranking(self) -> list[EndpointResult]:
        """Endpoints by quality, best first (unmeasured last), then by p95 latency."""
        return sorted(
            self.endpoints,
            key=lambda e: (
                e.quality is None,
                -(e.quality or 0.0),
                e.latency_p95_ms if e.latency_p95_ms is not None else math.inf,
            ),
        )

    def not_recommended(self) -> dict[str, str]:
        """Endpoints no recommendation considers, with the reason."""
        reasons = {}
        for e in self.endpoints:
            if e.quality is None:
                reasons[e.name] = "answered nothing"
            elif e.error_rate > self.max_error_rate:
                reasons[e.name] = f"error rate {e.error_rate:.0%} > {self.max_error_rate:.0%}"
        return reasons

    def endpoint(self, name: str) -> EndpointResult:
        for entry in self.endpoints:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def read_json(cls, path: str | Path) -> EvalReport:
        return cls.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    return {
        "latency_p50_ms": percentile(latencies_ms, 50),
        "latency_p95_ms": percentile(latencies_ms, 95),
        "latency_mean_ms": statistics.fmean(latencies_ms) if latencies_ms else None,
    }
