"""Prometheus metrics of the generation engines, registered in the server's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
_TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class GenerationMetrics:
    """One set per server; every series is labelled with the model name."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.running = Gauge(
            "maaskit_generation_running_sequences",
            "Sequences in the running batch of the generation engine.",
            ["model"],
            registry=self.registry,
        )
        self.waiting = Gauge(
            "maaskit_generation_waiting_sequences",
            "Sequences waiting for a slot in the running batch.",
            ["model"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "maaskit_generation_decode_batch_size",
            "Number of sequences decoded together in one onnxruntime call.",
            ["model"],
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.generated_tokens = Counter(
            "maaskit_generation_generated_tokens",
            "Tokens generated (sampled), over all requests.",
            ["model"],
            registry=self.registry,
        )
        self.time_to_first_token = Histogram(
            "maaskit_generation_time_to_first_token_seconds",
            "Time from a request's arrival in the engine to its first generated token.",
            ["model"],
            buckets=_TTFT_BUCKETS,
            registry=self.registry,
        )


_server_metrics: GenerationMetrics | None = None


def server_metrics() -> GenerationMetrics:
    """The generation metrics in the server's shared registry (created once per process)."""
    global _server_metrics
    if _server_metrics is None:
        from maaskit_server.metrics import REGISTRY

        _server_metrics = GenerationMetrics(REGISTRY)
    return _server_metrics
