"""The connection pools a client makes for itself: sized for many calls in flight, and
cookies kept, on both async transports and the sync client.

A real server on a loopback port (uvicorn in a thread) holds every call until the number the
test needs is in flight at once, so a pool too small to carry them all shows as calls that
never get there (the server gives up after a minute and answers 503), not as a timing bet.
Connections are counted by the client's source port the server sees.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import maaskit
import maaskit._pools
import pytest
from server._live import live_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TRANSPORTS = ["httpx", "aiohttp"]
MODELS = {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "test"}]}
# Only a pool that cannot carry the calls waits this long: then the test fails with 503s.
GIVE_UP_S = 60.0


@dataclass
class Gate:
    """Holds calls until ``needed`` are in flight together; counts connections and cookies."""

    needed: int = 1
    in_flight: int = 0
    ports: set[int] = field(default_factory=set)
    cookies_seen: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    opened: asyncio.Event | None = None

    def arm(self, needed: int) -> None:
        with self.lock:
            self.needed, self.in_flight, self.opened = needed, 0, None


def gated_app(gate: Gate) -> Starlette:
    async def models(request: Request) -> Response:
        assert request.client is not None
        with gate.lock:
            gate.ports.add(request.client.port)
            gate.in_flight += 1
            if gate.opened is None:
                gate.opened = asyncio.Event()
            opened = gate.opened
            if gate.in_flight >= gate.needed:
                opened.set()
        try:
            await asyncio.wait_for(opened.wait(), GIVE_UP_S)
        except TimeoutError:
            return JSONResponse({"error": {"message": "too few calls in flight"}}, 503)
        return JSONResponse(MODELS)

    async def sticky(request: Request) -> Response:
        # A load balancer's sticky-session cookie on the first call only.
        gate.cookies_seen.append(request.cookies.get("lb"))
        response = JSONResponse(MODELS)
        if len(gate.cookies_seen) == 1:
            response.set_cookie("lb", "node-7")
        return response

    return Starlette(routes=[Route("/v1/models", models), Route("/sticky/v1/models", sticky)])


def needs(transport: str) -> None:
    if transport == "aiohttp":
        pytest.importorskip("httpx_aiohttp")


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate()


@pytest.fixture(scope="module")
def port(gate: Gate) -> Iterator[int]:
    with live_server(gated_app(gate)) as bound:
        yield bound


@pytest.fixture
def no_idle_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    """maaskit's limits without httpx's 5 s idle expiry, so that reuse never depends on how
    fast the machine runs from one round to the next."""
    limits = maaskit._pools.DEFAULT_LIMITS
    monkeypatch.setattr(
        maaskit._pools,
        "DEFAULT_LIMITS",
        httpx.Limits(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=None,
        ),
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_120_calls_are_in_flight_at_once(gate: Gate, port: int, transport: str) -> None:
    # httpx's and aiohttp's default pools hold 100 connections: call 101 waited for one that
    # the first 100 never freed.
    needs(transport)
    gate.arm(120)
    async with maaskit.AsyncClient(
        base_url=f"http://127.0.0.1:{port}/v1", http_transport=transport, max_retries=0
    ) as client:
        listings = await asyncio.gather(*(client.models() for _ in range(120)))
    assert [[model.id for model in listing] for listing in listings] == [["m"]] * 120


@pytest.mark.usefixtures("no_idle_expiry")
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_64_connections_are_kept_for_the_next_64_calls(
    gate: Gate, port: int, transport: str
) -> None:
    # httpx's default keeps 20 connections alive: the second round opened 44 new ones.
    needs(transport)
    gate.ports.clear()
    async with maaskit.AsyncClient(
        base_url=f"http://127.0.0.1:{port}/v1", http_transport=transport, max_retries=0
    ) as client:
        for _ in range(2):
            gate.arm(64)
            await asyncio.gather(*(client.models() for _ in range(64)))
    assert len(gate.ports) == 64


@pytest.mark.usefixtures("no_idle_expiry")
def test_the_sync_client_keeps_30_connections_for_the_next_30_calls(gate: Gate, port: int) -> None:
    gate.ports.clear()
    with (
        maaskit.Client(base_url=f"http://127.0.0.1:{port}/v1", max_retries=0) as client,
        ThreadPoolExecutor(30) as threads,
    ):
        for _ in range(2):
            gate.arm(30)
            listings = list(threads.map(lambda _: client.models(), range(30)))
            assert len(listings) == 30
    assert len(gate.ports) == 30  # 40 with httpx's default of 20 kept alive


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_cookie_set_by_the_server_comes_back(gate: Gate, port: int, transport: str) -> None:
    needs(transport)
    gate.cookies_seen.clear()
    async with maaskit.AsyncClient(
        base_url=f"http://127.0.0.1:{port}/sticky/v1", http_transport=transport
    ) as client:
        for _ in range(3):  # the answers after the first set no cookie: it is kept
            await client.models()
    assert gate.cookies_seen == [None, "node-7", "node-7"]


def test_the_sync_clients_cookie_comes_back(gate: Gate, port: int) -> None:
    gate.cookies_seen.clear()
    with maaskit.Client(base_url=f"http://127.0.0.1:{port}/sticky/v1") as client:
        for _ in range(3):
            client.models()
    assert gate.cookies_seen == [None, "node-7", "node-7"]
