"""Prometheus metrics shared by the whole server (one registry, created at import).

Route code and runtimes import the metric objects below and label them; the
:class:`MetricsMiddleware` counts every HTTP answer, including ones middleware gives (401, 413).
Labels use the route's path template, never the raw path, so cardinality stays bounded.
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import audit

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
)
_TOKENS = Counter(
    "maaskit_tokens",
    "Tokens processed, by model and kind (prompt or completion).",
    ["model", "kind"],
    registry=REGISTRY,
)


class _TokenCount:
    def __init__(self, model: str, kind: str) -> None:
        self._model = model
        self._kind = kind

    def inc(self, amount: float = 1) -> None:
        _TOKENS.labels(model=self._model, kind=self._kind).inc(amount)
        audit.note_tokens(self._kind, amount)


class _TokenCounter:
    """``TOKENS.labels(model=, kind=).inc(n)`` as on a Prometheus counter, and the same count
    noted on the current request's access-log record, so the two can never disagree."""

    def labels(self, *, model: str, kind: str) -> _TokenCount:
        return _TokenCount(model, kind)


TOKENS = _TokenCounter()
MODEL_READY = Gauge(
    "maaskit_model_ready",
    "1 when the model answered its warm-up inference, else 0.",
    ["model"],
    registry=REGISTRY,
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


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus metrics in the text exposition format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


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

        try:
            await self.app(scope, receive, send_and_record)
        finally:
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
