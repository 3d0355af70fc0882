"""A real TCP reset of the connection an ASGI request arrived on.

An ASGI app cannot ask its server to drop a connection: under uvicorn an exception raised
before ``http.response.start`` becomes a 500, which is not what a client sees when a load
balancer or a crashed backend resets it. So the reset reaches the asyncio transport itself.

How it is found: uvicorn hands the app its ``RequestResponseCycle.send`` bound method, whose
owner holds ``transport``. Middlewares (Starlette's ``ServerErrorMiddleware`` first) wrap
``send`` in closures, so the owner is searched for through bound-method owners and closure
cells, a few levels deep. Setting ``SO_LINGER`` to 0 before ``abort()`` makes the kernel send
a RST instead of a FIN, so the client sees "connection reset by peer" (httpx raises
``ReadError``/``RemoteProtocolError``), never an HTTP status.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from typing import Any

__all__ = ["find_transport", "reset_connection"]

_MAX_DEPTH = 12


def _is_transport(value: Any) -> bool:
    # Duck-typed: uvloop's TCPTransport is not registered as an asyncio.BaseTransport.
    return callable(getattr(value, "abort", None)) and callable(
        getattr(value, "get_extra_info", None)
    )


def find_transport(send: Callable[..., Any]) -> Any:
    """The transport behind an ASGI ``send`` callable, or ``None`` when it cannot be found
    (another server, or an in-process test transport)."""
    seen: set[int] = set()
    frontier: list[Any] = [send]
    for _ in range(_MAX_DEPTH):
        following: list[Any] = []
        for item in frontier:
            if id(item) in seen:
                continue
            seen.add(id(item))
            transport = getattr(item, "transport", None)
            if _is_transport(transport):
                return transport
            owner = getattr(item, "__self__", None)
            if owner is not None:
                following.append(owner)
            for cell in getattr(item, "__closure__", None) or ():
                try:
                    content = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if callable(content) or hasattr(content, "transport"):
                    following.append(content)
        if not following:
            return None
        frontier = following
    return None


async def reset_connection(transport: Any) -> None:
    """Abort with a RST, then let the event loop run the server's ``connection_lost`` so the
    server knows the client is gone (uvicorn then sends nothing more and logs nothing)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Still aborted below if this fails: a FIN instead of a RST is the worst case.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # abort() schedules connection_lost with call_soon: two turns of the loop run it.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
