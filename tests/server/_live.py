"""A real uvicorn server in a thread, configured like ``maaskit serve`` (serving.py)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from _support.server import free_port
from maaskit_server.serving import ServeOptions, uvicorn_options
from starlette.types import ASGIApp


@contextmanager
def live_server(
    app: ASGIApp, options: ServeOptions | None = None, **overrides: Any
) -> Iterator[int]:
    """Serve ``app`` on a free loopback port; yields the port."""
    port = free_port()
    base = options or ServeOptions()
    kwargs = uvicorn_options(
        ServeOptions(**{**base.__dict__, "port": port, "log_level": "warning", "access_log": False})
    )
    kwargs.update(overrides)
    server = uvicorn.Server(uvicorn.Config(app, **kwargs))
    thread = threading.Thread(target=server.run, name="live-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length body, read off a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the body")
        body += chunk
    return status, headers, body[:length]


def closed_by_peer(sock: socket.socket) -> bool:
    """True when the server closed the connection (reads end), waiting up to 30 s."""
    sock.settimeout(30)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
