"""The Starlette app factory.

Routes come from the protocol modules; models load in the background after startup, so
``/health`` answers at once and ``/ready`` turns 200 only when every model answered a real
inference. Errors meant for clients are :class:`~maaskit_server.errors.APIError`; the catch-all
(:mod:`~maaskit_server.last_resort`) logs server-side, never shows a traceback to the client,
and keeps the connection usable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from . import metrics
from .audit import RequestIdMiddleware, write_json_access_log
from .content_type import ContentTypeMiddleware
from .draining import DRAIN_STATE_KEY, Drain, DrainMiddleware
from .errors import APIError, error_response
from .faults import FaultController, FaultMiddleware
from .idempotency import IdempotencyMiddleware, IdempotencyStore
from .idempotency_shared import SharedIdempotencyStore
from .inputs import InputError, InputTooLongError
from .keys import KeysFile
from .last_resort import LastResortMiddleware
from .overload import QueueFullError
from .protocols import all_routes
from .ratelimit import RateLimiter, RateLimitMiddleware, SharedBuckets
from .repository import ModelRepository
from .runtimes import RuntimeContext
from .security import APIKeyChecker, APIKeyMiddleware, BodyLimitMiddleware, KeyRecord
from .settings import SETTINGS_ENV, ServerSettings
from .shared_state import SharedState
from .state import AppState

logger = logging.getLogger("maaskit_server")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def create_app(
    settings: ServerSettings | None = None,
    *,
    load_gate: threading.Event | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """Build the app. ``load_gate`` (tests) holds model loading until it is set."""
    settings = settings or ServerSettings()
    # Ends what still runs when a graceful shutdown's time is up (maaskit_server.draining).
    drain = Drain()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Mapping[str, object]]:
        executor = ThreadPoolExecutor(settings.executor_workers, thread_name_prefix="maaskit")
        context = RuntimeContext(
            executor,
            settings.intra_op_threads,
            settings.max_queue_size,
            encoder_lanes=settings.encoder_lanes,
        )
        repository = ModelRepository(settings.models_dir, context)
        repository.scan()
        app.state.maaskit = AppState(settings, repository, executor, time.time())
        # Streaming responses run in an anyio task group, whose backend anyio imports on first
        # use: done here, the first streamed answer does not pay ~20 ms for it.
        async with anyio.create_task_group():
            pass
        loader = asyncio.create_task(_load_models(repository, settings, load_gate))
        try:
            # The server (serving.GracefulServer) finds the app's drain in the lifespan state.
            yield {DRAIN_STATE_KEY: drain}
        finally:
            loader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loader
            await repository.close()
            executor.shutdown(wait=False, cancel_futures=True)
            metrics.mark_worker_dead()

    # Faults sit outside idempotency, so an injected status never becomes a stored answer;
    # without --enable-faults the fault middleware is not in the stack at all.
    faults = FaultController(settings.fault_admin_key_sha256) if settings.faults_enabled else None
    shared = (
        SharedState(settings.shared_state_path) if settings.shared_state_path is not None else None
    )
    limiter = RateLimiter(
        settings.rate_limit_rpm, buckets=SharedBuckets(shared) if shared is not None else None
    )
    idempotency = (
        IdempotencyStore(
            ttl_s=settings.idempotency_ttl_s, max_entries=settings.idempotency_max_entries
        )
        if shared is None
        else SharedIdempotencyStore(
            shared, ttl_s=settings.idempotency_ttl_s, max_entries=settings.idempotency_max_entries
        )
    )
    app = Starlette(
        routes=[*all_routes(), *extra_routes],
        middleware=[
            Middleware(
                RequestIdMiddleware,
                json_access_log=settings.access_log_json,
                worker_header=settings.faults_enabled,
            ),
            Middleware(DrainMiddleware, drain=drain),
            Middleware(LastResortMiddleware),
            Middleware(metrics.MetricsMiddleware),
            Middleware(APIKeyMiddleware, checker=_key_checker(settings)),
            *(
                [Middleware(RateLimitMiddleware, limiter=limiter)]
                if settings.rate_limit_rpm > 0 or settings.keys_file is not None
                else []
            ),
            Middleware(
                BodyLimitMiddleware,
                max_bytes=settings.max_body_bytes,
                timeout_s=settings.body_timeout_s,
            ),
            Middleware(ContentTypeMiddleware),
            *([Middleware(FaultMiddleware, controller=faults)] if faults is not None else []),
            Middleware(IdempotencyMiddleware, store=idempotency),
        ],
        exception_handlers={
            APIError: _api_error,
            HTTPException: _http_error,
            QueueFullError: _queue_full,
            InputError: _input_error,
        },
        lifespan=lifespan,
    )
    app.state.faults = faults
    app.state.drain = drain
    app.state.idempotency = idempotency
    app.state.limiter = limiter
    return app


def _key_checker(settings: ServerSettings) -> APIKeyChecker:
    scoped = [
        KeyRecord(digest, frozenset(models), routes=frozenset({"inference"}))
        for digest, models in settings.scoped_api_keys
    ]
    keys_file = None
    if settings.keys_file is not None:
        keys_file = KeysFile(settings.keys_file, poll_s=settings.keys_poll_s)
    return APIKeyChecker([*settings.api_key_hashes, *scoped], keys_file)


def create_app_from_env() -> Starlette:
    """Factory for uvicorn worker processes: settings arrive as JSON in the environment."""
    settings = ServerSettings.from_json(os.environ[SETTINGS_ENV])
    if settings.access_log_json:
        write_json_access_log()  # a worker process starts with no logging set up
    return create_app(settings)


async def _load_models(
    repository: ModelRepository, settings: ServerSettings, gate: threading.Event | None
) -> None:
    if settings.load_delay_s > 0:
        await asyncio.sleep(settings.load_delay_s)
    if gate is not None:
        # Bounded: a forgotten gate delays loading, it never blocks it forever.
        await asyncio.get_running_loop().run_in_executor(None, gate.wait, 60.0)
    await repository.load_all()


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return error_response(request.url.path, exc)


async def _queue_full(request: Request, exc: Exception) -> Response:
    """The one place an overloaded model becomes an answer, for every protocol."""
    assert isinstance(exc, QueueFullError)
    error = APIError(
        429,
        str(exc),
        type="rate_limit_error",
        code="queue_full",
        headers={"Retry-After": str(exc.retry_after_s)},
    )
    return error_response(request.url.path, error)


async def _input_error(request: Request, exc: Exception) -> Response:
    """A runtime refused an input: a 400 naming the field, in the protocol's shape."""
    assert isinstance(exc, InputError)
    path = request.url.path
    message = exc.message
    if isinstance(exc, InputTooLongError) and exc.truncatable:
        message += " or ask to truncate with " + _truncation_field(path)
    return error_response(path, APIError(400, message, param=exc.param, code=exc.code))


def _truncation_field(path: str) -> str:
    """How a request on ``path`` asks to cut over-long inputs, in its protocol's words."""
    if path.startswith("/v2/models/"):
        return 'parameters "truncate": true (KServe v2)'
    if path.startswith(("/models/", "/api/")):
        return '"truncate": true'  # TEI / Hugging Face, Ollama
    return '"truncate_prompt_tokens" or "truncate": true'  # OpenAI routes, vLLM's fields


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = APIError(
        exc.status_code,
        str(exc.detail),
        type="not_found_error" if exc.status_code == 404 else "invalid_request_error",
        code=_HTTP_CODES.get(exc.status_code, "http_error"),
        headers=exc.headers,
    )
    return error_response(request.url.path, error)
