"""``AsyncClient`` behaves the same on both HTTP transports: httpx's own and aiohttp's.

Real servers on loopback ports (uvicorn in a thread), because respx mocks only httpx's own
transport: plain calls, timeouts, refused connections, retries of 503s, a server that drops the
connection, streaming with early exit, TLS with a CA bundle or an ``SSLContext`` per endpoint,
and mTLS. Every test runs once per transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import maaskit
import pytest
import trustme
from _support.server import free_port
from maaskit_server.serving import ServeOptions
from server._live import live_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

pytest.importorskip("httpx_aiohttp")

TRANSPORTS = ["httpx", "aiohttp"]
MODELS = {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "test"}]}


@dataclass
class Scripted:
    """State of the scripted server: how many 503s are left, what it has seen."""

    failures_left: int = 0
    models_calls: int = 0
    chunks_sent: int = 0
    release: threading.Event = field(default_factory=threading.Event)


def chunk(text: str, finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": finish}
    return f"data: {json.dumps({'id': 'c', 'model': 'm', 'choices': [choice]})}\n\n".encode()


def scripted_app(state: Scripted) -> Starlette:
    async def models(request: Request) -> Response:
        state.models_calls += 1
        if state.failures_left > 0:
            state.failures_left -= 1
            return JSONResponse({"error": {"message": "busy"}}, status_code=503)
        return JSONResponse(MODELS)

    async def hang(request: Request) -> Response:
        # Never answers while the test runs (released at teardown so the server can stop).
        await asyncio.to_thread(state.release.wait)
        return JSONResponse(MODELS)

    async def chat(request: Request) -> Response:
        async def events() -> AsyncIterator[bytes]:
            for i in range(200):
                state.chunks_sent += 1
                yield chunk(str(i))
            yield chunk("", "stop")
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/v1/models", models),
            Route("/hang/v1/models", hang),
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ]
    )


@pytest.fixture(scope="module")
def state() -> Iterator[Scripted]:
    made = Scripted()
    yield made
    made.release.set()


@pytest.fixture(scope="module")
def port(state: Scripted) -> Iterator[int]:
    with live_server(scripted_app(state)) as bound:
        yield bound
        state.release.set()  # before the server stops: it waits for running requests


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


async def no_sleep(seconds: float) -> None:
    return None


async def test_a_plain_call(port: int, transport: str) -> None:
    async with maaskit.AsyncClient(
        base_url=f"http://127.0.0.1:{port}/v1", http_transport=transport
    ) as client:
        models = await client.models()
    assert [model.id for model in models] == ["m"]


async def test_a_server_that_does_not_answer_times_out(port: int, transport: str) -> None:
    async with maaskit.AsyncClient(
        base_url=f"http://127.0.0.1:{port}/hang/v1",
        http_transport=transport,
        timeout=maaskit.Timeout(read=0.2),
        max_retries=0,
    ) as client:
        with pytest.raises(maaskit.APITimeoutError):
            await client.models()


async def test_a_refused_connection_is_a_connection_error(transport: str) -> None:
    async with maaskit.AsyncClient(
        base_url=f"http://127.0.0.1:{free_port()}/v1", http_transport=transport, max_retries=0
    ) as client:
        with pytest.raises(maaskit.APIConnectionError) as caught:
            await client.models()
    assert not isinstance(caught.value, maaskit.APITimeoutError)
    assert "ConnectError" in str(caught.value)


async def test_a_503_is_retried(port: int, state: Scripted, transport: str) -> None:
    state.failures_left, state.models_calls = 2, 0
    attempts: list[int] = []
    async with maaskit.AsyncClient(
        base_url=f"http://127.0.0.1:{port}/v1",
        http_transport=transport,
        max_retries=2,
        sleep=no_sleep,
        on_attempt=lambda event: attempts.append(event.attempt),
    ) as client:
        models = await client.models()
    assert [model.id for model in models] == ["m"]
    assert (state.models_calls, attempts) == (3, [1, 2, 3])


class DroppingServer:
    """Accepts connections, reads a request from each, and closes it without answering."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed by stop()
            self.connections += 1
            with conn:
                conn.recv(65536)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        self.listener.close()
        self.thread.join(timeout=10)


async def test_a_dropped_connection_is_a_connection_error_not_a_timeout(transport: str) -> None:
    server = DroppingServer()
    try:
        async with maaskit.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}/v1",
            http_transport=transport,
            max_retries=0,
        ) as client:
            with pytest.raises(maaskit.APIConnectionError) as caught:
                await client.chat(model="m", messages=[{"role": "user", "content": "hi"}])
        assert not isinstance(caught.value, maaskit.APITimeoutError)
        # A close with the request body still unread is a reset (ReadError), else a clean
        # close (RemoteProtocolError): which one depends on how the body was split in packets.
        assert "RemoteProtocolError" in str(caught.value) or "ReadError" in str(caught.value)
    finally:
        server.stop()
    # A POST the server may have started on is not sent again behind maaskit's back.
    assert server.connections == 1


async def test_a_stream_is_read_and_left_early(port: int, state: Scripted, transport: str) -> None:
    messages = [{"role": "user", "content": "hi"}]
    async with maaskit.AsyncClient(
        base_url=f"http://127.0.0.1:{port}/v1", http_transport=transport
    ) as client:
        texts = [c.text async for c in await client.chat(model="m", messages=messages, stream=True)]
        assert texts[:3] == ["0", "1", "2"]
        assert "".join(texts) == "".join(str(i) for i in range(200))
        stream = await client.chat(model="m", messages=messages, stream=True)
        async with stream:
            async for first in stream:
                assert first.text == "0"
                break
        assert stream.closed
        # The connection was released: the pool serves the next call.
        assert [model.id for model in await client.models()] == ["m"]


# -- TLS ------------------------------------------------------------------------------------


@dataclass
class PKI:
    ca: trustme.CA
    other_ca: trustme.CA
    client: trustme.LeafCert
    ca_file: Path
    cert_file: Path
    key_file: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    folder = tmp_path_factory.mktemp("pki")
    ca, other_ca = trustme.CA(), trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    made = PKI(
        ca,
        other_ca,
        ca.issue_cert("client@example.test"),
        folder / "ca.pem",
        folder / "server.pem",
        folder / "server.key",
    )
    ca.cert_pem.write_to_path(str(made.ca_file))
    server_cert.cert_chain_pems[0].write_to_path(str(made.cert_file))
    server_cert.private_key_pem.write_to_path(str(made.key_file))
    return made


@pytest.fixture(scope="module")
def mtls_port(pki: PKI, state: Scripted) -> Iterator[int]:
    options = ServeOptions(
        ssl_certfile=pki.cert_file,
        ssl_keyfile=pki.key_file,
        ssl_ca_certs=pki.ca_file,
        ssl_require_client_cert=True,
    )
    with live_server(scripted_app(state), options) as bound:
        yield bound


def trusting(ca: trustme.CA, cert: trustme.LeafCert | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    if cert is not None:
        cert.configure_cert(context)
    return context


async def test_mtls_with_an_ssl_context_or_files_per_endpoint(
    pki: PKI, mtls_port: int, transport: str, tmp_path: Path
) -> None:
    base = f"https://127.0.0.1:{mtls_port}/v1"
    client_pem = tmp_path / "client.pem"
    pki.client.private_key_and_cert_chain_pem.write_to_path(str(client_pem))
    by_context = maaskit.Endpoint(
        name="context", provider="openai", base_url=base, verify=trusting(pki.ca, pki.client)
    )
    by_files = maaskit.Endpoint(
        name="files",
        provider="openai",
        base_url=base,
        verify=str(pki.ca_file),
        cert=str(client_pem),
    )
    for endpoint in (by_context, by_files):
        async with maaskit.AsyncClient(endpoints=[endpoint], http_transport=transport) as client:
            assert [model.id for model in await client.models()] == ["m"]


async def test_tls_refusals(pki: PKI, mtls_port: int, transport: str) -> None:
    base = f"https://127.0.0.1:{mtls_port}/v1"
    no_cert = maaskit.Endpoint(
        name="no-cert", provider="openai", base_url=base, verify=trusting(pki.ca)
    )
    wrong_ca = maaskit.Endpoint(
        name="wrong-ca", provider="openai", base_url=base, verify=trusting(pki.other_ca, pki.client)
    )
    async with maaskit.AsyncClient(
        endpoints=[wrong_ca], http_transport=transport, max_retries=0
    ) as client:
        with pytest.raises(maaskit.APIConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.models()
    async with maaskit.AsyncClient(
        endpoints=[no_cert], http_transport=transport, max_retries=0
    ) as client:
        with pytest.raises(maaskit.APIConnectionError):
            await client.models()


def test_an_unknown_transport_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown http_transport 'curl'"):
        maaskit.AsyncClient(base_url="http://127.0.0.1:9/v1", http_transport="curl")
