"""The last-resort answer to an exception nothing else handled: a clean 500.

Starlette's own last-resort handler answers and then re-raises, and uvicorn then drops the
connection without a ``Connection: close``, so the next request a client had sent on that
pooled connection failed (10 of 10 in a direct test). This middleware answers in the
protocol's shape and returns normally, so the connection stays usable.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .errors import APIError, error_response

logger = logging.getLogger("maaskit_server")


class LastResortMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            metrics.UNHANDLED_ERRORS.inc()
            path = str(scope.get("path", ""))
            logger.error("unhandled error on %s %s", scope.get("method"), path, exc_info=exc)
            if started:
                # Half an answer is out: only closing the connection tells the client so.
                raise
            error = APIError(
                500, "The server hit an internal error.", type="server_error", code="internal_error"
            )
            await error_response(path, error)(scope, receive, send)
