"""Auth flows and secret hygiene: keys never appear in reprs, errors or logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import maaskit
import pytest
import respx

from .conftest import BASE_URL, SECRET, Harness, chat_body

MESSAGES = [{"role": "user", "content": "hi"}]
TOKEN_URL = "http://auth.test/oauth/token"


async def test_bearer_key_is_sent(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=chat_body())
    client = harness.client()

    await harness.call(client.chat, model="m", messages=MESSAGES)

    assert route.calls[0].request.headers["Authorization"] == f"Bearer {SECRET}"


async def test_key_callable_is_called_for_every_request(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=chat_body())
    keys: Iterator[str] = iter(["sk-rotating-1", "sk-rotating-2"])
    client = harness.client(api_key=lambda: next(keys))

    await harness.call(client.chat, model="m", messages=MESSAGES)
    await harness.call(client.chat, model="m", messages=MESSAGES)

    sent = [call.request.headers["Authorization"] for call in route.calls]
    assert sent == ["Bearer sk-rotating-1", "Bearer sk-rotating-2"]


async def test_custom_header_auth(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=chat_body())
    client = harness.client(api_key=None, auth=maaskit.HeaderAuth("api-key", SECRET))

    await harness.call(client.chat, model="m", messages=MESSAGES)

    headers = route.calls[0].request.headers
    assert headers["api-key"] == SECRET
    assert "Authorization" not in headers


@pytest.mark.parametrize("name", ["Authorization", "authorization", "AUTHORIZATION"])
async def test_the_key_replaces_a_default_header_of_the_same_name(
    harness: Harness, respx_mock: respx.MockRouter, name: str
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=chat_body())
    client = harness.client(default_headers={name: "Bearer stale", "X-Team": "a"})

    await harness.call(client.chat, model="m", messages=MESSAGES)

    headers = route.calls[0].request.headers
    assert headers.get_list("Authorization") == [f"Bearer {SECRET}"]
    assert headers["X-Team"] == "a"


async def test_key_callable_is_read_again_for_each_retry(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=chat_body())]
    )
    keys: Iterator[str] = iter(["sk-rotating-1", "sk-rotating-2"])
    client = harness.client(api_key=lambda: next(keys))

    await harness.call(client.chat, model="m", messages=MESSAGES)

    sent = [call.request.headers["Authorization"] for call in route.calls]
    assert sent == ["Bearer sk-rotating-1", "Bearer sk-rotating-2"]


async def test_the_key_is_sent_instead_of_the_http_clients_own_auth(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(f"{BASE_URL}/models").respond(200, json={"data": []})
    auth = ("user", "password")
    http: httpx.Client | httpx.AsyncClient = (
        httpx.AsyncClient(auth=auth) if harness.is_async else httpx.Client(auth=auth)
    )
    client = harness.client(http_client=http)

    await harness.call(client.models)

    assert route.calls[0].request.headers.get_list("Authorization") == [f"Bearer {SECRET}"]
    await harness.call(http.aclose if isinstance(http, httpx.AsyncClient) else http.close)


def token_response(token: str, expires_in: int = 3600) -> httpx.Response:
    return httpx.Response(200, json={"access_token": token, "expires_in": expires_in})


async def test_oauth2_token_is_cached_and_refreshed_on_401(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    token_route = respx_mock.post(TOKEN_URL).mock(
        side_effect=[token_response("tok-1"), token_response("tok-2")]
    )
    api = respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        side_effect=[
            httpx.Response(200, json=chat_body()),
            httpx.Response(200, json=chat_body()),
            httpx.Response(401, json={"error": {"message": "token revoked"}}),
            httpx.Response(200, json=chat_body("after refresh")),
        ]
    )
    auth = maaskit.OAuth2ClientCredentials(TOKEN_URL, "client-a", "oauth-SECRET-xyz", scope="s")
    client = harness.client(api_key=None, auth=auth)

    await harness.call(client.chat, model="m", messages=MESSAGES)
    await harness.call(client.chat, model="m", messages=MESSAGES)
    third = await harness.call(client.chat, model="m", messages=MESSAGES)

    assert third.text == "after refresh"
    assert token_route.call_count == 2
    assert auth.tokens_fetched == 2
    sent = [call.request.headers["Authorization"] for call in api.calls]
    assert sent == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    token_request = token_route.calls[0].request
    assert token_request.headers["Authorization"].startswith("Basic ")
    assert b"grant_type=client_credentials" in token_request.content
    assert b"scope=s" in token_request.content


async def test_oauth2_token_expiry_triggers_a_new_token(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    now = [0.0]
    token_route = respx_mock.post(TOKEN_URL).mock(
        side_effect=[token_response("tok-1", expires_in=100), token_response("tok-2")]
    )
    api = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=chat_body())
    auth = maaskit.OAuth2ClientCredentials(
        TOKEN_URL, "client-a", "oauth-SECRET-xyz", expiry_margin=10, clock=lambda: now[0]
    )
    client = harness.client(api_key=None, auth=auth)

    await harness.call(client.chat, model="m", messages=MESSAGES)
    now[0] = 89.0
    await harness.call(client.chat, model="m", messages=MESSAGES)
    now[0] = 91.0  # within the 10 s margin before expiry
    await harness.call(client.chat, model="m", messages=MESSAGES)

    assert token_route.call_count == 2
    sent = [call.request.headers["Authorization"] for call in api.calls]
    assert sent == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


async def test_oauth2_token_endpoint_failure_is_an_authentication_error(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(TOKEN_URL).respond(400, json={"error": "invalid_client"})
    api = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=chat_body())
    auth = maaskit.OAuth2ClientCredentials(TOKEN_URL, "client-a", "oauth-SECRET-xyz")
    client = harness.client(api_key=None, auth=auth)

    with pytest.raises(maaskit.AuthenticationError) as caught:
        await harness.call(client.chat, model="m", messages=MESSAGES)

    assert caught.value.status_code == 400
    assert api.call_count == 0
    assert "oauth-SECRET-xyz" not in str(caught.value)


def test_secrets_are_not_in_reprs() -> None:
    auth = maaskit.OAuth2ClientCredentials(TOKEN_URL, "client-a", "oauth-SECRET-xyz")
    clients: list[maaskit.Client | maaskit.AsyncClient] = [
        maaskit.Client(base_url=BASE_URL, api_key=SECRET),
        maaskit.AsyncClient(base_url=BASE_URL, api_key=SECRET),
        maaskit.Client(base_url=BASE_URL, auth=maaskit.HeaderAuth("api-key", SECRET)),
        maaskit.Client(base_url=BASE_URL, auth=auth),
    ]
    for client in clients:
        for text in (repr(client), str(client), repr(client.config), repr(client.config.auth)):
            assert SECRET not in text
            assert "oauth-SECRET-xyz" not in text
    assert "**********" in repr(clients[0])


async def test_key_never_in_errors_or_logs(
    harness: Harness, respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    # Some servers echo the key they were sent; maaskit scrubs it from what it keeps.
    respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        side_effect=[
            httpx.Response(503, json={"error": {"message": f"busy, key {SECRET}"}}),
            httpx.Response(401, json={"error": {"message": f"Incorrect API key: {SECRET}"}}),
        ]
    )
    events: list[maaskit.AttemptEvent] = []
    client = harness.client(on_attempt=events.append)
    caplog.set_level(logging.DEBUG, logger="maaskit")

    with pytest.raises(maaskit.AuthenticationError) as caught:
        await harness.call(client.chat, model="m", messages=MESSAGES)

    error = caught.value
    for text in (str(error), repr(error), error.provider_message or "", error.body or ""):
        assert SECRET not in text
    assert "[REDACTED]" in (error.provider_message or "")
    assert "maaskit" in caplog.text  # the logger did write
    assert SECRET not in caplog.text
    assert "authorization" in caplog.text.lower()
    # The hook sees the real request; redact_headers is what it should log.
    assert SECRET not in str(maaskit.redact_headers(events[0].request.headers))


def test_credentials_in_base_url_are_refused() -> None:
    with pytest.raises(ValueError, match="must not contain credentials"):
        maaskit.Client(base_url=f"http://user:{SECRET}@maas.test/v1")


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        maaskit.Client(base_url=BASE_URL, api_key="")
