"""The end of a graceful shutdown: what still runs when ``--graceful-timeout`` is spent.

uvicorn's own answer is to cancel the request tasks, which cuts open streams mid-body: a client
sees a connection reset and cannot tell a shutdown from a crash. Here the server ends them
itself, in the protocol's own words, a moment before uvicorn would cancel them:

* an SSE stream gets a last ``data:`` event with the error in the path's shape, and on OpenAI
  paths ``data: [DONE]`` after it (what vLLM sends when a stream fails; the official ``openai``
  client raises it as an ``APIError``);
* an NDJSON stream (Ollama) gets a last ``{"error": "..."}`` line;
* a request whose answer has not started gets a 503 in the path's error shape.

:class:`Drain` is the per-app signal: :class:`~maaskit_server.serving.GracefulServer` begins it
when uvicorn starts shutting down (the app hands it over in the lifespan state) and it expires
``--graceful-timeout`` seconds later; :class:`DrainMiddleware` then cancels every request still
running and finishes its response. Until it expires the middleware only tracks its requests (a
set insert and removal per request), so serving costs nothing measurable.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._json import dumps
from .errors import APIError, error_response, openai_shape, shape_for_path

__all__ = ["DRAIN_STATE_KEY", "Drain", "DrainMiddleware", "shutdown_error"]

# The key under which the app's Drain travels in the ASGI lifespan state.
DRAIN_STATE_KEY = "maaskit.drain"
_CANCEL_MESSAGE = "maaskit: graceful shutdown timeout"


def shutdown_error() -> APIError:
    return APIError(
        503,
        "The server shut down before this request finished; retry it.",
        type="server_error",
        code="shutting_down",
        headers={"Retry-After": "1", "Connection": "close"},
    )


class Drain:
    """Requests in flight, and whether the graceful shutdown's time is up."""

    def __init__(self) -> None:
        self.expired = False
        self.began = False
        self._running: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def begin(self, grace_s: float) -> None:
        """Shutdown started: expire in ``grace_s`` seconds (called on the serving loop)."""
        if self.began:
            return
        self.began = True
        self._timer = asyncio.get_running_loop().call_later(grace_s, self.expire)

    def expire(self) -> None:
        """Time is up: every request still running is cancelled and finished by the middleware."""
        self.expired = True
        running, self._running = self._running, set()
        for task in running:
            task.cancel(_CANCEL_MESSAGE)

    def track(self, task: asyncio.Task[Any]) -> None:
        self._running.add(task)

    def untrack(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)


class DrainMiddleware:
    def __init__(self, app: ASGIApp, *, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if self.drain.expired:
            await error_response(path, shutdown_error())(scope, receive, send)
            return
        task = asyncio.current_task()
        assert task is not None
        response = _ResponseState(send)

        # A closure over ``send``, not a bound method: the fault injector finds the connection's
        # transport by following the closures of the send chain (faults/_reset.py).
        async def send_tracked(message: Message) -> None:
            response.saw(message)
            await send(message)

        self.drain.track(task)
        try:
            await self.app(scope, receive, send_tracked)
        except asyncio.CancelledError:
            # Only the drain's own cancellation is turned into an answer; any other (uvicorn's
            # last resort, the loop closing) goes on as it came.
            if not self.drain.expired or task.cancelling() != 1:
                raise
            task.uncancel()
            await response.finish(scope, receive, path)
        finally:
            self.drain.untrack(task)


class _ResponseState:
    """What the client has been sent so far, to know how its answer can still be ended."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False
        self.complete = False
        self.content_type = ""

    def saw(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete = True

    async def finish(self, scope: Scope, receive: Receive, path: str) -> None:
        if self.complete:
            return
        if not self.started:
            await error_response(path, shutdown_error())(scope, receive, self._send)
            return
        final = _final_event(path, self.content_type)
        if final is None:
            # A non-streamed body cut short cannot be ended honestly: the connection closes.
            return
        await self._send({"type": "http.response.body", "body": final, "more_body": False})


def _final_event(path: str, content_type: str) -> bytes | None:
    shape = shape_for_path(path)
    payload = dumps(shape(shutdown_error()))
    if content_type.startswith("text/event-stream"):
        done = b"data: [DONE]\n\n" if shape is openai_shape else b""
        return b"data: " + payload + b"\n\n" + done
    if content_type.startswith("application/x-ndjson"):
        return payload + b"\n"
    return None
