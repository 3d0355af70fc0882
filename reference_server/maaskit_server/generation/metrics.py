"""Prometheus metrics of the generation engines, registered in the server's registry.

The ``vllm:*`` series carry vLLM's names, label (``model_name``) and histogram buckets, so
tools written against vLLM's ``/metrics`` read them unchanged. Their token counters live in
:mod:`maaskit_server.metrics`, counted where the usage is (one site for every protocol).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
_TTFT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# vLLM's buckets (vllm/v1/metrics/loggers.py), so its dashboards' quantiles read the same.
_VLLM_TTFT_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
)  # fmt: skip
_VLLM_TOKEN_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    20.0, 40.0, 80.0,
)  # fmt: skip
_VLLM_REQUEST_BUCKETS = (
    0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0,
    240.0, 480.0, 960.0, 1920.0, 7680.0,
)  # fmt: skip


class GenerationMetrics:
    """One set per server; every series is labelled with the model name."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.running = Gauge(
            "maaskit_generation_running_sequences",
            "Sequences in the running batch of the generation engine.",
            ["model"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.waiting = Gauge(
            "maaskit_generation_waiting_sequences",
            "Sequences waiting for a slot in the running batch.",
            ["model"],
            registry=self.registry,
            multiprocess_mode="livesum",
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
        # vLLM counts each of the n sequences of a request as a request of its own (v1 splits
        # parallel sampling into child requests), so these count sequences too.
        self.vllm_running = Gauge(
            "vllm:num_requests_running",
            "Requests in the running batch (vLLM's name; one per sequence).",
            ["model_name"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.vllm_waiting = Gauge(
            "vllm:num_requests_waiting",
            "Requests waiting for a slot in the running batch (vLLM's name).",
            ["model_name"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.vllm_kv_cache_usage = Gauge(
            "vllm:kv_cache_usage_perc",
            "KV-cache use, 0 to 1: tokens held by running sequences over the cache's room "
            "(max running sequences x context length).",
            ["model_name"],
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.vllm_time_to_first_token = Histogram(
            "vllm:time_to_first_token_seconds",
            "Time from a request's arrival in the engine to its first token (vLLM's name).",
            ["model_name"],
            buckets=_VLLM_TTFT_BUCKETS,
            registry=self.registry,
        )
        self.vllm_inter_token_latency = Histogram(
            "vllm:inter_token_latency_seconds",
            "Time between two consecutive tokens of a sequence (vLLM's name).",
            ["model_name"],
            buckets=_VLLM_TOKEN_BUCKETS,
            registry=self.registry,
        )
        self.vllm_time_per_output_token = Histogram(
            "vllm:time_per_output_token_seconds",
            "vLLM's older name of the inter-token latency: the same observations.",
            ["model_name"],
            buckets=_VLLM_TOKEN_BUCKETS,
            registry=self.registry,
        )
        self.vllm_e2e_request_latency = Histogram(
            "vllm:e2e_request_latency_seconds",
            "Time from a request's arrival in the engine to its last token (vLLM's name).",
            ["model_name"],
            buckets=_VLLM_REQUEST_BUCKETS,
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
