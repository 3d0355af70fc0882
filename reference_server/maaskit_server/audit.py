"""Request ids and the JSON access log.

Every response carries ``x-request-id``: the client's own when it sent a well-formed one
(1–128 characters of letters, digits and ``-_.:``; anything else could forge log lines or bloat
them), else a new one. The request's :class:`RequestRecord` lives in a context variable for the
rest of the request, so the code that looks up a model and counts tokens notes them there, and
``--access-log json`` writes one line per request from it: time, request id, key id (never the
key), route, method, model, status, prompt and completion tokens, latency. Bodies never.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
WORKER_HEADER = "x-maaskit-worker"
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

access_logger = logging.getLogger("maaskit_server.access")


@dataclass
class RequestRecord:
    request_id: str
    key_id: str | None = None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


CURRENT: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "maaskit_request", default=None
)


def note_key(key_id: str) -> None:
    record = CURRENT.get()
    if record is not None:
        record.key_id = key_id


def note_model(name: str) -> None:
    record = CURRENT.get()
    if record is not None:
        record.model = name


def note_tokens(kind: str, count: float) -> None:
    record = CURRENT.get()
    if record is None:
        return
    if kind == "prompt":
        record.prompt_tokens += int(count)
    elif kind == "completion":
        record.completion_tokens += int(count)


def request_id_from(headers: Headers) -> str:
    presented = headers.get(REQUEST_ID_HEADER, "")
    if _WELL_FORMED_ID.fullmatch(presented):
        return presented
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Outermost: tags every response with its request id and writes the access log line."""

    def __init__(
        self, app: ASGIApp, *, json_access_log: bool = False, worker_header: bool = False
    ) -> None:
        self.app = app
        self.json_access_log = json_access_log
        # Test servers only (with --enable-faults): which worker process answered, so a test
        # with --workers N can tell that every worker took part.
        self.worker_id = str(os.getpid()) if worker_header else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(request_id_from(Headers(scope=scope)))
        token = CURRENT.set(record)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = record.request_id
                if self.worker_id is not None:
                    headers[WORKER_HEADER] = self.worker_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            CURRENT.reset(token)
            if self.json_access_log:
                _write_access_line(scope, record, status, time.perf_counter() - started)


def _write_access_line(scope: Scope, record: RequestRecord, status: int, latency: float) -> None:
    route = scope.get("route")
    line = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
        "request_id": record.request_id,
        "key_id": record.key_id,
        "method": scope.get("method"),
        # The route's template, never the raw path (which may carry anything a client typed).
        "route": route.path if isinstance(route, Route) else "unmatched",
        "model": record.model,
        # 0: the client left before an answer started.
        "status": status,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "latency_ms": round(latency * 1000, 3),
    }
    access_logger.info(json.dumps(line, separators=(",", ":")))


def write_json_access_log() -> None:
    """Send the access lines bare, one JSON object per line, to stderr (once per process)."""
    if any(getattr(handler, "maaskit_access", False) for handler in access_logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.maaskit_access = True  # type: ignore[attr-defined]
    access_logger.addHandler(handler)
    access_logger.setLevel(logging.INFO)
    access_logger.propagate = False
