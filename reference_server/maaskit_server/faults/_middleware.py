"""The ASGI middleware that carries faults out by wrapping the app's ``send``.

It is added to the app only when fault injection is enabled, so with the default settings
the fault header is not even looked at.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import metrics
from .._json import dumps
from ..errors import APIError, error_response, shape_for_path
from ._controller import FaultController, RequestFacts
from ._grammar import FaultSpec, FaultSyntaxError
from ._reset import find_transport, reset_connection

__all__ = ["ADMIN_PREFIX", "FAULT_HEADER", "FaultMiddleware"]

FAULT_HEADER = "x-maaskit-fault"
ADMIN_PREFIX = "/_maaskit"
# Never faulted: the admin routes and what orchestrators and scrapers poll.
_EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})
_BODY_FAULTS = ("drip_ms", "reset", "malformed", "truncate", "error_event", "stall")


class _Stop(Exception):
    """Ends the app's run after the fault took over the connection (caught in this module)."""


def model_from_path(path: str) -> str | None:
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 3 and parts[0] == "v2" and parts[1] == "models":
        return parts[2]
    if len(parts) >= 2 and parts[0] == "models":
        return parts[1]
    return None


def model_from_body(body: bytes) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    model = payload.get("model") if isinstance(payload, dict) else None
    return model if isinstance(model, str) else None


async def read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a ``receive`` that hands it to the app again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), _replay([message], receive)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, _replay([{"type": "http.request", "body": body, "more_body": False}], receive)


def _units(body: bytes, separator: bytes | None) -> list[bytes]:
    """``body`` cut after each ``separator`` (kept); a rest without one is a unit too."""
    if separator is None:
        return [body]
    units = []
    start = 0
    while (end := body.find(separator, start)) >= 0:
        units.append(body[start : end + len(separator)])
        start = end + len(separator)
    if start < len(body):
        units.append(body[start:])
    return units


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


class FaultMiddleware:
    def __init__(self, app: ASGIApp, controller: FaultController) -> None:
        self.app = app
        self.controller = controller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path in _EXEMPT_PATHS or path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method = str(scope.get("method", "GET"))
        model = model_from_path(path)
        if model is None and method == "POST" and self.controller.needs_model(path):
            body, receive = await read_body(receive)
            model = model_from_body(body)
        facts = RequestFacts(method, path, model, headers.get("idempotency-key"))
        try:
            spec = self.controller.select(headers.get(FAULT_HEADER), facts)
        except FaultSyntaxError as exc:
            error = APIError(400, f"Invalid X-MaaSKit-Fault header: {exc}", code="invalid_fault")
            await error_response(path, error)(scope, receive, send)
            return
        if spec is None:
            await self.app(scope, receive, send)
            return
        metrics.FAULTS_INJECTED.labels(kind=spec.kind).inc()
        if spec.status is not None:
            await _answer_status(spec, path, scope, receive, send)
            return
        injector = _Injector(spec, path, send)
        with contextlib.suppress(_Stop):
            await self.app(scope, receive, injector.send)


async def _answer_status(
    spec: FaultSpec, path: str, scope: Scope, receive: Receive, send: Send
) -> None:
    """The status fault answers without running the model, as a proxy or an overloaded
    backend would; so a retry of it is never a duplicate execution."""
    assert spec.status is not None
    if spec.latency_ms:
        await asyncio.sleep(spec.latency_ms / 1000)
    extra: dict[str, str] = {}
    if spec.retry_after is not None:
        extra["Retry-After"] = f"{spec.retry_after:g}"
    if spec.retry_after_ms is not None:
        extra["retry-after-ms"] = str(spec.retry_after_ms)
    kind = _ERROR_TYPES.get(
        spec.status, "server_error" if spec.status >= 500 else "invalid_request_error"
    )
    error = APIError(
        spec.status,
        f"Injected fault: status {spec.status}.",
        type=kind,
        code="injected_fault",
        headers={**extra, "X-MaaSKit-Fault-Injected": spec.kind},
    )
    await error_response(path, error)(scope, receive, send)


_ERROR_TYPES = {429: "rate_limit_error", 529: "overloaded_error", 401: "authentication_error"}


class _Injector:
    """Wraps ``send``: delays the headers, resets, or cuts / spoils / stalls the body after
    ``n`` body units. A unit is an SSE event (``text/event-stream``), an NDJSON line
    (``application/x-ndjson``), or else one ASGI body message. The injector splits what the
    app writes into units itself, so a route writes its stream the same way whether faults are
    on or off (events that arrived together in one write); only where a fault acts is a write
    split."""

    def __init__(self, spec: FaultSpec, path: str, send: Send) -> None:
        self.spec = spec
        self.path = path
        self._send = send
        self.chunks = 0
        self.sse = False
        self._separator: bytes | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            await self._start(message)
        elif message["type"] == "http.response.body" and message.get("body"):
            await self._chunk(message)
        else:
            await self._send(message)

    async def _start(self, message: Message) -> None:
        spec = self.spec
        if spec.latency_ms:
            await asyncio.sleep(spec.latency_ms / 1000)
        if spec.reset_before_headers:
            await self._reset()
        raw = list(message.get("headers", []))
        content_type = Headers(raw=raw).get("content-type", "")
        self.sse = content_type.startswith("text/event-stream")
        if self.sse:
            self._separator = b"\n\n"
        elif content_type.startswith("application/x-ndjson"):
            self._separator = b"\n"
        if any(getattr(spec, name) is not None for name in _BODY_FAULTS):
            # The body will not be the length announced: send it chunked instead.
            raw = [(k, v) for k, v in raw if k.lower() != b"content-length"]
        raw.append((b"x-maaskit-fault-injected", spec.kind.encode()))
        await self._send({**message, "headers": raw})

    async def _chunk(self, message: Message) -> None:
        pending: list[bytes] = []
        for unit in _units(message["body"], self._separator):
            if self._acts_at(self.chunks):
                if pending:
                    await self._body(b"".join(pending))
                    pending = []
                await self._before_unit(self.chunks)
            pending.append(unit)
            self.chunks += 1
        await self._send({**message, "body": b"".join(pending)})

    def _acts_at(self, sent: int) -> bool:
        spec = self.spec
        at = (spec.reset, spec.truncate, spec.malformed, spec.error_event, spec.stall)
        return sent in at or bool(spec.drip_ms and sent > 0)

    async def _before_unit(self, sent: int) -> None:
        spec = self.spec
        if spec.reset == sent:
            await self._reset()
        if spec.truncate == sent:
            await self._end()
        if spec.malformed == sent:
            await self._body(self._malformed())
            await self._end()
        if spec.error_event == sent:
            await self._body(self._error_event())
            await self._end()
        if spec.stall == sent:
            # Cancelled when the client goes (Starlette listens for the disconnect).
            await asyncio.sleep(spec.stall_max_s)
            await self._reset()
        if spec.drip_ms and sent > 0:
            await asyncio.sleep(spec.drip_ms / 1000)

    async def _body(self, data: bytes) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def _end(self) -> None:
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})
        raise _Stop

    async def _reset(self) -> None:
        transport = find_transport(self._send)
        if transport is None:
            # No socket to reset (an in-process test transport): fail the response instead.
            raise RuntimeError("injected connection reset (no transport to reset)")
        await reset_connection(transport)
        raise _Stop

    def _malformed(self) -> bytes:
        if self.sse:
            return b'data: {"choices": [{"delta": {"content": "unterminated\n\n'
        return b'{"message": {"content": "unterminated\n'

    def _error_event(self) -> bytes:
        error = APIError(
            500, "Injected fault: error event.", type="server_error", code="injected_fault"
        )
        payload = dumps(shape_for_path(self.path)(error))
        return b"data: " + payload + b"\n\n" if self.sse else payload + b"\n"
