"""Every gauge of the server's registry combines over workers in one of prometheus_client's
``live*`` modes: only those drop a dead worker's values when it is marked dead (the default
mode, ``all``, would keep a killed worker's running count in every later scrape)."""

from __future__ import annotations

from maaskit_server import metrics
from maaskit_server.generation.metrics import server_metrics
from prometheus_client import Gauge
from prometheus_client.multiprocess import _LIVE_GAUGE_MULTIPROCESS_MODES


def test_every_gauge_drops_a_dead_workers_values() -> None:
    server_metrics()  # the generation engines' gauges, registered once per process
    collectors = list(metrics.REGISTRY._collector_to_names)
    gauges = {c._name: c._multiprocess_mode for c in collectors if isinstance(c, Gauge)}
    assert {"vllm:num_requests_running", "maaskit_requests_in_progress"} <= set(gauges)
    assert {
        name for name, mode in gauges.items() if mode not in _LIVE_GAUGE_MULTIPROCESS_MODES
    } == set()
