"""observe_repeated: ``count`` observations in one update, exactly what ``count`` observes give.

It reaches into prometheus_client's per-child values (there is no batch observe), so these
tests pin it to the library's own ``observe``: bucket counts and ``_count`` compared exactly,
on bounds, between them and past the last one, in-process and in multiprocess mode.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from maaskit_server.generation.metrics import observe_repeated
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client import values as prometheus_values

BUCKETS = (0.01, 0.025, 0.05, 0.1)
# Below the first bound, on a bound, between bounds, past the last (the +Inf bucket).
VALUES = (0.0, 0.001, 0.01, 0.03, 0.1, 0.5, 7.0)


def _samples(registry: CollectorRegistry) -> dict[str, float]:
    found: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name.endswith(("_bucket", "_count")):
                found[f"{sample.name}{sorted(sample.labels.items())}"] = sample.value
    return found


def _pair() -> tuple[CollectorRegistry, Histogram, CollectorRegistry, Histogram]:
    one, many = CollectorRegistry(), CollectorRegistry()
    by_one = Histogram("gap", "g", ["m"], buckets=BUCKETS, registry=one).labels(m="x")
    by_many = Histogram("gap", "g", ["m"], buckets=BUCKETS, registry=many).labels(m="x")
    return one, by_one, many, by_many


@pytest.mark.parametrize("value", VALUES)
def test_repeated_equals_as_many_observes(value: float) -> None:
    one, by_one, many, by_many = _pair()
    for _ in range(5):
        by_one.observe(value)
    observe_repeated(by_many, value, 5)
    assert _samples(many) == _samples(one)
    assert _samples(many)["gap_count[('m', 'x')]"] == 5


def test_a_zero_count_observes_nothing() -> None:
    _, _, many, by_many = _pair()
    observe_repeated(by_many, 0.03, 0)
    assert _samples(many)["gap_count[('m', 'x')]"] == 0
    assert b"gap_sum" in generate_latest(many)


def test_repeated_in_multiprocess_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers' mmap-backed values take the same update (``--workers 2`` uses them)."""
    from prometheus_client import multiprocess

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(
        prometheus_values, "ValueClass", prometheus_values.get_value_class(), raising=True
    )
    histogram = Histogram("gap", "g", ["m"], buckets=BUCKETS, registry=None).labels(m="x")
    for value in VALUES:
        observe_repeated(histogram, value, 3)
    scraped = CollectorRegistry()
    multiprocess.MultiProcessCollector(scraped, path=str(tmp_path))
    samples = _samples(scraped)
    assert samples["gap_count[('m', 'x')]"] == 3 * len(VALUES)
    # Cumulative buckets: 0.0 and 0.001 and 0.01 are <= 0.01; 0.5 and 7.0 only in +Inf.
    assert samples["gap_bucket[('le', '0.01'), ('m', 'x')]"] == 9
    assert samples["gap_bucket[('le', '0.1'), ('m', 'x')]"] == 15
    assert samples["gap_bucket[('le', '+Inf'), ('m', 'x')]"] == 21
