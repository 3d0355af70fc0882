"""``maaskit_mock`` also answers the official ``openai`` client (v3, on httpx2), sync and async,
streamed and not, with scripted errors driving the openai client's own retries; requests to
other hosts from httpx2 still go out for real."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx2
import openai
import pytest
from maaskit.testing import MaaSKitMock
from maaskit.testing._mock_bodies import fake_vector

KEY = "sk-mock-openai-key"


def client(mock: MaaSKitMock, **options: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=mock.openai.base_url, api_key=KEY, **options)  # type: ignore[arg-type]


def test_chat(maaskit_mock: MaaSKitMock) -> None:
    route = maaskit_mock.openai.chat(reply="Hello from the mock")
    answer = client(maaskit_mock).chat.completions.create(
        model="gpt-x", messages=[{"role": "user", "content": "hi"}], max_tokens=5
    )
    assert answer.choices[0].message.content == "Hello from the mock"
    assert route.call_count == 1
    assert maaskit_mock.last_json()["max_tokens"] == 5
    assert maaskit_mock.requests[-1].headers["authorization"] == f"Bearer {KEY}"


def test_chat_stream(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.openai.chat(reply="to be or not")
    stream = client(maaskit_mock).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "to be or not"


def test_embeddings_and_models(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.openai.embeddings(dim=8)
    maaskit_mock.openai.models(ids=["a", "b"])
    official = client(maaskit_mock)
    result = official.embeddings.create(model="m", input=["x"], encoding_format="float")
    assert result.data[0].embedding == pytest.approx(fake_vector("x", 8))
    assert [model.id for model in official.models.list()] == ["a", "b"]


def test_scripted_errors_drive_the_official_retries(maaskit_mock: MaaSKitMock) -> None:
    route = maaskit_mock.openai.chat(reply="ok", errors=[503], retry_after=0)
    answer = client(maaskit_mock, max_retries=1).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.choices[0].message.content == "ok"
    assert route.call_count == 2


def test_a_permanent_status_is_the_official_typed_error(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.openai.chat(status=401)
    with pytest.raises(openai.AuthenticationError) as caught:
        client(maaskit_mock, max_retries=0).chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 401
    assert "mocked error 401" in str(caught.value)


def test_async_client(maaskit_mock: MaaSKitMock) -> None:
    maaskit_mock.openai.chat(reply="async hello")

    async def run() -> str | None:
        async with openai.AsyncOpenAI(base_url=maaskit_mock.openai.base_url, api_key=KEY) as c:
            answer = await c.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hi"}]
            )
        return answer.choices[0].message.content

    assert asyncio.run(run()) == "async hello"


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"real"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = HTTPServer(("127.0.0.1", port), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_other_hosts_pass_through(maaskit_mock: MaaSKitMock, loopback_server: str) -> None:
    with httpx2.Client() as http:
        assert http.get(loopback_server).text == "real"
    assert maaskit_mock.requests == []


def test_the_patch_ends_with_the_fixture() -> None:
    # Outside maaskit_mock the transports are httpx2's own again.
    from httpx2._transports.default import HTTPTransport

    assert HTTPTransport.handle_request.__module__ == "httpx2._transports.default"
