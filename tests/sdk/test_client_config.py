"""Environment variables, defaults, with_options, timeouts, results."""

from __future__ import annotations

import json

import httpx
import maaskit
import pytest
import respx

from .conftest import BASE_URL, Harness, chat_body

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MAASKIT_BASE_URL", "MAASKIT_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def sent_key(client: maaskit.Client) -> str | None:
    auth = client.config.auth
    assert auth is None or isinstance(auth, maaskit.BearerAuth)
    return None if auth is None else auth.current_key()


def test_maaskit_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAASKIT_BASE_URL", "http://env.test/v1/")
    monkeypatch.setenv("MAASKIT_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    client = maaskit.Client()
    assert client.config.base_url == "http://env.test/v1"
    assert sent_key(client) == "sk-env"


def test_openai_env_vars_are_the_fallback_for_provider_openai(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://openai-env.test/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    client = maaskit.Client()
    assert client.config.base_url == "http://openai-env.test/v1"
    assert sent_key(client) == "sk-openai"


def test_arguments_beat_env_and_defaults_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAASKIT_API_KEY", "sk-env")
    client = maaskit.Client(base_url=BASE_URL, api_key="sk-arg")
    assert sent_key(client) == "sk-arg"
    assert client.config.retry.max_retries == 2
    assert maaskit.Client().config.base_url == "https://api.openai.com/v1"
    monkeypatch.delenv("MAASKIT_API_KEY")
    assert maaskit.Client(base_url=BASE_URL).config.auth is None


def test_timeout_number_and_object() -> None:
    assert maaskit.Timeout.coerce(7) == maaskit.Timeout(
        connect=7, read=7, write=7, total=None, stream_idle=7
    )
    timeout = maaskit.Timeout(connect=1, read=30, total=100, stream_idle=5)
    per_attempt = timeout.for_attempt(remaining=20.0, streaming=False)
    assert (per_attempt.connect, per_attempt.read, per_attempt.write) == (1, 20.0, 20.0)
    streaming = timeout.for_attempt(remaining=None, streaming=True)
    assert streaming.read == 5


def test_attempt_timeouts_are_cut_only_by_a_smaller_remaining_budget() -> None:
    timeout = maaskit.Timeout(connect=1, read=30, write=10, total=100, stream_idle=5)
    uncut = timeout.for_attempt(remaining=31.0, streaming=False)
    assert (uncut.connect, uncut.read, uncut.write, uncut.pool) == (1, 30, 10, 1)
    assert timeout.for_attempt(remaining=6.0, streaming=True).read == 5
    cut = timeout.for_attempt(remaining=0.5, streaming=True)
    assert (cut.connect, cut.read, cut.write, cut.pool) == (0.5, 0.5, 0.5, 0.5)
    # A limit that is None is bounded by the budget alone.
    unlimited_read = maaskit.Timeout(connect=1, read=None, write=10, total=100)
    assert unlimited_read.for_attempt(remaining=40.0, streaming=False).read == 40.0
    assert unlimited_read.for_attempt(remaining=None, streaming=False).read is None


async def test_timeouts_reach_httpx(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=chat_body())
    client = harness.client(timeout=maaskit.Timeout(connect=2, read=9, write=4, total=None))

    await harness.call(client.chat, model="m", messages=MESSAGES)

    sent = route.calls[0].request.extensions["timeout"]
    assert sent == {"connect": 2, "read": 9, "write": 4, "pool": 2}


async def test_with_options_changes_settings_and_shares_the_pool(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(503)
    client = harness.client(max_retries=0, default_headers={"X-Team": "a"})
    patient = client.with_options(max_retries=3, api_key="sk-other")

    with pytest.raises(maaskit.ServerError):
        await harness.call(patient.chat, model="m", messages=MESSAGES)

    assert route.call_count == 4
    assert route.calls[0].request.headers["X-Team"] == "a"
    assert route.calls[0].request.headers["Authorization"] == "Bearer sk-other"
    assert patient._http_client is client._http_client
    assert client.config.retry.max_retries == 0
    # with_options is typed: an unknown option is Python's own TypeError naming it.
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        client.with_options(colour="blue")


def test_closing_a_with_options_copy_keeps_the_shared_pool_open() -> None:
    client = maaskit.Client(base_url=BASE_URL)
    client.with_options(max_retries=1).close()
    assert not client._http_client.is_closed
    client.close()
    assert client._http_client.is_closed


def test_user_http_client_is_not_closed() -> None:
    http = httpx.Client()
    with maaskit.Client(base_url=BASE_URL, http_client=http):
        pass
    assert not http.is_closed
    http.close()


async def test_default_headers_and_user_agent(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(f"{BASE_URL}/models").respond(200, json={"data": []})
    client = harness.client(default_headers={"X-Tenant": "t1"})

    assert await harness.call(client.models) == []

    headers = route.calls[0].request.headers
    assert headers["X-Tenant"] == "t1"
    assert headers["User-Agent"] == f"maaskit/{maaskit.__version__}"


async def test_a_default_header_replaces_maaskits_own_whatever_its_case(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=chat_body())
    client = harness.client(
        default_headers={"accept": "application/x-custom", "content-type": "application/json+x"}
    )

    await harness.call(client.chat, model="m", messages=MESSAGES)

    request = route.calls[0].request
    assert request.headers.get_list("Accept") == ["application/x-custom"]
    assert request.headers.get_list("Content-Type") == ["application/json+x"]
    assert json.loads(request.content) == {"model": "m", "messages": MESSAGES}


async def test_a_retried_post_sends_the_same_compact_json_body(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=chat_body())]
    )
    client = harness.client()

    await harness.call(client.chat, model="m", messages=MESSAGES, provider_params={"note": "café"})

    first, second = (call.request for call in route.calls)
    assert first.content == second.content
    assert first.content == (
        '{"model":"m","messages":[{"role":"user","content":"hi"}],"note":"café"}'.encode()
    )
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["Content-Length"] == str(len(first.content))
