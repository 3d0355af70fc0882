"""Prometheus metrics shared by the whole server (one registry, created at import).

Route code and runtimes import the metric objects below and label them; the
:class:`MetricsMiddleware` counts every HTTP answer, including ones middleware gives (401, 413).
Labels use the route's path template, never the raw path, so cardinality stays bounded.

Beside the ``maaskit_*`` series the server writes vLLM's (``vllm:*``, labelled
``model_name``), so dashboards, autoscalers and inference routers built for vLLM can be tested
against it. With ``--workers N`` every worker is its own process: the CLI then points
``PROMETHEUS_MULTIPROC_DIR`` at a folder of the shared state before the workers start, each
worker writes its values there (prometheus_client's multiprocess mode), and ``/metrics`` on
any worker answers the sum over all of them. Gauges say how they combine: running and waiting
counts add up over live workers, the KV-cache use is the fullest worker's. Every gauge uses one
of prometheus_client's ``live*`` modes, so a worker's gauges stop counting once it is marked
dead: by itself on a clean shutdown, by the supervisor (``serving.GracefulSupervisor``) when it
was killed or crashed. A dead worker's counters and histograms stay in the sums, as
prometheus_client intends (totals never go down).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import audit

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "maaskit_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
REQUEST_LATENCY = Histogram(
    "maaskit_request_duration_seconds",
    "Time from request start to the end of the response body.",
    ["route", "method"],
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "maaskit_batch_size",
    "Inputs merged into one onnxruntime call.",
    ["model"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
    registry=REGISTRY,
)
INFERENCE_LATENCY = Histogram(
    "maaskit_inference_duration_seconds",
    "Time of one batched onnxruntime call, padding and post-processing included.",
    ["model"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "maaskit_queue_depth",
    "Inputs waiting for a batch slot.",
    ["model"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
REQUESTS_IN_PROGRESS = Gauge(
    "maaskit_requests_in_progress",
    "HTTP requests being answered (the scrape that reads this is one of them).",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
_TOKENS = Counter(
    "maaskit_tokens",
    "Tokens processed, by model and kind (prompt or completion).",
    ["model", "kind"],
    registry=REGISTRY,
)


VLLM_PROMPT_TOKENS = Counter(
    "vllm:prompt_tokens",
    "Prefill tokens processed (vLLM's name).",
    ["model_name"],
    registry=REGISTRY,
)
VLLM_GENERATION_TOKENS = Counter(
    "vllm:generation_tokens",
    "Generation tokens processed (vLLM's name).",
    ["model_name"],
    registry=REGISTRY,
)


_UNCOUNTED: ContextVar[bool] = ContextVar("maaskit_tokens_uncounted", default=False)


def count_tokens(model: str, kind: str, amount: int) -> None:
    """Count ``amount`` tokens of ``kind`` (``prompt`` or ``completion``) for ``model``: in
    ``maaskit_tokens``, vLLM's token counters and the current request's access-log record, so
    none of them can disagree.

    Called where the work happens, once for every protocol: the encoder runtimes count the
    tokens they ran, the generation run the prompts it submitted and the tokens each choice
    generated."""
    if amount <= 0 or _UNCOUNTED.get():
        return
    _TOKENS.labels(model=model, kind=kind).inc(amount)
    vllm = VLLM_PROMPT_TOKENS if kind == "prompt" else VLLM_GENERATION_TOKENS
    vllm.labels(model_name=model).inc(amount)
    audit.note_tokens(kind, amount)


@contextmanager
def uncounted() -> Iterator[None]:
    """Tokens processed inside (a model's warm-up) are nobody's usage."""
    token = _UNCOUNTED.set(True)
    try:
        yield
    finally:
        _UNCOUNTED.reset(token)


MODEL_READY = Gauge(
    "maaskit_model_ready",
    "1 when the model answered its warm-up inference, else 0.",
    ["model"],
    registry=REGISTRY,
    multiprocess_mode="livemin",  # ready when every worker is
)
UNHANDLED_ERRORS = Counter(
    "maaskit_unhandled_errors",
    "Exceptions that reached the last-resort 500 handler (should stay 0).",
    registry=REGISTRY,
)
FAULTS_INJECTED = Counter(
    "maaskit_faults_injected",
    "Faults injected on purpose (only with --enable-faults), by kind.",
    ["kind"],
    registry=REGISTRY,
)
IDEMPOTENCY = Counter(
    "maaskit_idempotency_requests",
    "Requests with an Idempotency-Key, by outcome (executed, replayed, waited, conflict, "
    "busy, duplicate_execution).",
    ["outcome"],
    registry=REGISTRY,
)


def prepare_multiprocess_dir(folder: Path) -> Path:
    """An empty folder for the workers' metric files (values of an earlier run removed)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def mark_worker_dead() -> None:
    """A worker shutting down: its live gauges stop counting (its counters stay summed)."""
    mark_process_dead(os.getpid())


def mark_process_dead(pid: int) -> None:
    """Worker ``pid`` has ended, however it ended: its live gauges stop counting, its counters
    and histograms stay summed. prometheus_client's documented bookkeeping (it removes the
    process's ``gauge_live*_<pid>.db`` files); nothing to do without multiprocess mode."""
    folder = multiprocess_dir()
    if folder is not None:
        multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus metrics in the text exposition format (summed over workers)."""
    if multiprocess_dir() is None:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
    # As prometheus_client prescribes: a fresh registry per scrape, read from every worker's
    # files (this worker's own included).
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        REQUESTS_IN_PROGRESS.inc()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            REQUESTS_IN_PROGRESS.dec()
            route = _route_label(scope.get("route"))
            method = str(scope.get("method", ""))
            REQUESTS.labels(route=route, method=method, status=str(status)).inc()
            REQUEST_LATENCY.labels(route=route, method=method).observe(
                time.perf_counter() - started
            )


def _route_label(route: BaseRoute | None) -> str:
    if isinstance(route, Route):
        return route.path
    return "unmatched"
