"""Connection-level defenses on a real uvicorn server, driven over raw sockets: a 500 keeps the
connection, oversized and slow request heads, slow bodies, and the connection cap."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest
from maaskit_server.app import create_app
from maaskit_server.connections import GuardedHttpToolsProtocol
from maaskit_server.serving import ServeOptions
from maaskit_server.settings import ServerSettings
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server._live import closed_by_peer, live_server, read_response


async def explode(request: Request) -> Response:
    raise RuntimeError("secret internal detail")


class QuickHeadGuard(GuardedHttpToolsProtocol):
    head_timeout_s = 0.3


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-models")


def make_app(models_dir: Path, **settings: object):  # type: ignore[no-untyped-def]
    return create_app(
        ServerSettings(models_dir=models_dir, **settings),  # type: ignore[arg-type]
        extra_routes=[Route("/v1/explode", explode)],
    )


@contextlib.contextmanager
def connect(port: int) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        yield sock


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode()


def test_a_500_answers_cleanly_and_keeps_the_connection(app_dir: Path) -> None:
    with live_server(make_app(app_dir)) as port, connect(port) as sock:
        sock.sendall(get("/v1/explode"))
        status, headers, body = read_response(sock)
        assert status == 500
        assert b"internal_error" in body
        assert b"secret internal detail" not in body
        assert headers.get("connection", "") != "close"
        # The same connection serves the next request (it was dropped before).
        sock.sendall(get("/health"))
        assert read_response(sock)[0] == 200


@pytest.mark.parametrize(("protocol", "status"), [("guarded-httptools", 431), ("h11", 400)])
def test_an_oversized_request_head_is_refused_and_the_rest_still_served(
    app_dir: Path, protocol: str, status: int
) -> None:
    overrides = {"http": "h11"} if protocol == "h11" else {}
    with live_server(
        make_app(app_dir), ServeOptions(max_head_bytes=16 * 1024), **overrides
    ) as port:
        with connect(port) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Big: ")
            sent = 0
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                while sent < 48 * 1024 * 1024:
                    sock.sendall(b"a" * 65536)
                    sent += 65536
            # Refused long before 48 MB arrived: the server stopped reading and closed.
            assert sent < 48 * 1024 * 1024
            with contextlib.suppress(ConnectionResetError):
                assert read_response(sock)[0] == status
        with connect(port) as sock:
            # A large but allowed head (8 KiB) is served.
            sock.sendall(
                b"GET /health HTTP/1.1\r\nHost: test\r\nX-Fine: " + b"b" * 8192 + b"\r\n\r\n"
            )
            assert read_response(sock)[0] == 200


def test_a_head_that_does_not_complete_in_time_is_408(app_dir: Path) -> None:
    with live_server(make_app(app_dir), http=QuickHeadGuard) as port:
        with connect(port) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: te")  # ... and nothing more
            status, headers, _ = read_response(sock)
            assert status == 408
            assert headers["connection"] == "close"
            assert closed_by_peer(sock)
        with connect(port) as idle:
            assert closed_by_peer(idle)  # a connection that never sends is closed too
        with connect(port) as sock:  # a prompt client is unaffected
            sock.sendall(get("/health"))
            assert read_response(sock)[0] == 200


def test_a_body_that_does_not_arrive_in_time_is_408(app_dir: Path) -> None:
    app = make_app(app_dir, body_timeout_s=0.3)
    with live_server(app) as port, connect(port) as sock:
        sock.sendall(
            b"POST /v1/embeddings HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"model": '
        )
        status, headers, body = read_response(sock)
        assert status == 408
        assert b"request_timeout" in body
        assert headers["connection"] == "close"


def test_connections_past_the_cap_are_answered_503(app_dir: Path) -> None:
    # uvicorn's limit_concurrency counts open connections, the asking one included.
    with live_server(make_app(app_dir), ServeOptions(max_connections=2)) as port:
        with connect(port) as first:
            first.sendall(get("/health"))
            assert read_response(first)[0] == 200
            with connect(port) as second, connect(port) as third:
                third.sendall(get("/health"))
                assert read_response(third)[0] == 503
                second.sendall(get("/health"))
                assert read_response(second)[0] == 503
        with connect(port) as again:  # the cap is on open connections, not a ban
            again.sendall(get("/health"))
            assert read_response(again)[0] == 200


def _aiohttp_keepalive_timeout() -> float:
    async def read() -> float:
        connector = aiohttp.TCPConnector()
        try:
            timeout = connector._keepalive_timeout  # no public getter
            return float(timeout or 0.0)
        finally:
            await connector.close()

    return asyncio.run(read())


def test_the_server_keeps_idle_connections_longer_than_client_pools_do() -> None:
    # A pool reuses a connection it last saw open; a server that closes it at the same moment
    # makes that request fail with a reset (the soak's ReadErrors with uvicorn's 5 s, equal to
    # httpx's expiry). Read from the libraries, so a change in their defaults shows here.
    longest_client_expiry = max(
        httpx.Limits().keepalive_expiry or 0.0, _aiohttp_keepalive_timeout()
    )
    assert ServeOptions().keep_alive_s >= 2 * longest_client_expiry


def test_a_connection_idle_past_the_old_keep_alive_is_still_served(app_dir: Path) -> None:
    idle_s = httpx.Limits().keepalive_expiry or 5.0
    with live_server(make_app(app_dir)) as port, connect(port) as sock:
        sock.sendall(get("/health"))
        assert read_response(sock)[0] == 200
        # Past httpx's expiry (and uvicorn's old 5 s): a slow machine only makes the wait longer.
        time.sleep(idle_s + 1)
        sock.sendall(get("/health"))
        assert read_response(sock)[0] == 200
