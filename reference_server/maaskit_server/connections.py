"""Connection-level limits uvicorn does not enforce itself, for its httptools protocol.

uvicorn's h11 protocol refuses a request head larger than ``h11_max_incomplete_event_size``,
but its httptools protocol has no such limit: httptools keeps appending a header's bytes until
the header ends, so one 48 MB header was read in full (and slowed every other request). Nor does
uvicorn time out a connection that never finishes its request head: keep-alive is only armed
after a response, so a client that opens connections and sends a byte now and then holds them
for ever (a "slowloris").

:class:`GuardedHttpToolsProtocol` adds both to uvicorn's httptools protocol: a head (request
line plus headers) larger than uvicorn's ``h11_max_incomplete_event_size`` (the same setting
as for h11, so both protocols share one limit) is answered 431, and a head not complete
``head_timeout_s`` after its first byte (or after the connection opened) is answered 408; both
close the connection, as the answer says. Bodies are limited in the app (413, and a body-read
deadline: :class:`~maaskit_server.security.BodyLimitMiddleware`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

# nginx allows 4 buffers of 8 KiB for a request head, Node.js 16 KiB; a bearer key, an
# idempotency key and the usual client headers take under 2 KiB.
DEFAULT_MAX_HEAD_BYTES = 64 * 1024
DEFAULT_HEAD_TIMEOUT_S = 10.0


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-head size limit and a head-read deadline.

    uvicorn builds one protocol object per connection from the class and its ``Config`` alone
    (and pickles both to worker processes), so the size limit comes from the config and the
    deadline is a class attribute (tests subclass it for a short one).
    """

    head_timeout_s = DEFAULT_HEAD_TIMEOUT_S

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_head_bytes = config.h11_max_incomplete_event_size or DEFAULT_MAX_HEAD_BYTES
        self._in_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # An idle new connection is a head that has not started: it gets the same deadline.
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # refused already: what else arrives is not parsed
        if self._in_head:
            self._arm_head_timer()
            self._head_bytes += len(data)
        super().data_received(data)
        # Counted before parsing, checked after: bytes received while the head is still
        # incomplete all belong to it, so past the limit the head alone is too large (a head
        # within the limit has completed by then, and its body's bytes no longer count).
        if self._in_head and self._head_bytes > self.max_head_bytes:
            self._refuse(431, "Request header fields are too large.")

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True  # the next bytes on this connection start the next request

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or not self._in_head:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a response is still being written (pipelining): not a slow head
        if self._head_bytes:
            self._refuse(408, "The request head was not received in time.")
        else:
            self.transport.close()  # an idle connection: nothing to answer

    def _refuse(self, status: int, message: str) -> None:
        self._in_head = False
        self._cancel_head_timer()
        if self.transport.is_closing():
            return
        body = message.encode("ascii")
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(head))
        self.transport.close()
