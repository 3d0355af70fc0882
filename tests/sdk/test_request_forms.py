"""Requests built from cached parts (``_call_requests.RequestForms``) still follow every setting.

maaskit builds each attempt's ``httpx.Request`` from a parsed URL and a merged header set
kept per client; these tests change each thing those parts depend on between calls and
check that the next request follows.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx
import maaskit
import pytest
import respx

from .conftest import BASE_URL, Harness

MODELS_BODY = {"object": "list", "data": [{"id": "m", "object": "model"}]}


def models_route(respx_mock: respx.MockRouter, base_url: str = BASE_URL) -> respx.Route:
    return respx_mock.get(f"{base_url}/models").respond(200, json=MODELS_BODY)


def pool(harness: Harness, **options: Any) -> Any:
    return httpx.AsyncClient(**options) if harness.is_async else httpx.Client(**options)


class RotatingAuth(httpx.Auth):
    """A key that changes on every request, as a key rotated by a secrets store would."""

    def __init__(self) -> None:
        self.issued = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.issued += 1
        request.headers["Authorization"] = f"Bearer key-{self.issued}"
        yield request


async def test_with_options_headers_and_timeout_reach_the_next_request(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = models_route(respx_mock)
    client = harness.client(
        default_headers={"X-Team": "a"}, timeout=maaskit.Timeout(connect=1, read=2, total=None)
    )
    other = client.with_options(
        default_headers={"X-Team": "b"}, timeout=maaskit.Timeout(connect=3, read=4, total=None)
    )

    await harness.call(client.models)
    await harness.call(other.models)
    await harness.call(client.models)

    sent = [call.request for call in route.calls]
    assert [r.headers["X-Team"] for r in sent] == ["a", "b", "a"]
    assert [r.extensions["timeout"]["read"] for r in sent] == [2, 4, 2]
    assert [r.extensions["timeout"]["connect"] for r in sent] == [1, 3, 1]


async def test_per_call_extra_headers_go_with_that_call_only(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/embeddings").respond(
        200,
        json={
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}],
            "model": "e",
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        },
    )
    client = harness.client()

    await harness.call(client.embed, model="e", input=["x"], extra_headers={"X-Trace": "t1"})
    await harness.call(client.embed, model="e", input=["x"])
    await harness.call(client.embed, model="e", input=["x"], extra_headers={"user-agent": "mine/1"})

    first, second, third = (call.request for call in route.calls)
    assert first.headers["X-Trace"] == "t1"
    assert "X-Trace" not in second.headers
    assert second.headers["User-Agent"].startswith("maaskit/")
    assert third.headers.get_list("User-Agent") == ["mine/1"]
    # Each call still has its own idempotency key and attempt number.
    keys = {r.headers["Idempotency-Key"] for r in (first, second, third)}
    assert len(keys) == 3
    assert {r.headers["X-MaaSKit-Attempt"] for r in (first, second, third)} == {"1"}


async def test_a_rotated_key_from_a_custom_auth_is_sent_on_every_call(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = models_route(respx_mock)
    auth = RotatingAuth()
    client = harness.client(api_key=None, auth=auth)

    for _ in range(3):
        await harness.call(client.models)

    sent = [call.request.headers["Authorization"] for call in route.calls]
    assert sent == ["Bearer key-1", "Bearer key-2", "Bearer key-3"]


async def test_retries_number_their_attempts_and_keep_the_key(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(f"{BASE_URL}/models").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=MODELS_BODY)]
    )
    client = harness.client(max_retries=1)

    await harness.call(client.models)

    sent = [call.request for call in route.calls]
    assert [r.headers["X-MaaSKit-Attempt"] for r in sent] == ["1", "2"]
    assert [r.headers.get_list("X-MaaSKit-Attempt") for r in sent] == [["1"], ["2"]]


async def test_each_router_endpoint_sends_its_own_headers(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    down = respx_mock.get("http://a.test/v1/models").respond(503)
    up = models_route(respx_mock, "http://b.test/v1")
    endpoints = [
        maaskit.Endpoint(
            name=name,
            provider="openai",
            base_url=f"http://{name}.test/v1",
            headers={"X-Backend": name},
        )
        for name in ("a", "b")
    ]
    client = harness.client(base_url=None, api_key=None, endpoints=endpoints, max_retries=1)

    await harness.call(client.models)
    await harness.call(client.models)

    assert down.calls[0].request.headers["X-Backend"] == "a"
    assert all(call.request.headers["X-Backend"] == "b" for call in up.calls)
    assert up.call_count >= 1


async def test_a_passed_http_clients_headers_are_followed_when_they_change(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = models_route(respx_mock)
    http_client = pool(harness, headers={"X-Pool": "one"})
    client = harness.client(http_client=http_client)

    await harness.call(client.models)
    http_client.headers["X-Pool"] = "two"
    await harness.call(client.models)
    http_client.headers = httpx.Headers({"X-Other": "three"})
    await harness.call(client.models)

    first, second, third = (call.request for call in route.calls)
    assert first.headers["X-Pool"] == "one"
    assert second.headers["X-Pool"] == "two"
    assert "X-Pool" not in third.headers
    assert third.headers["X-Other"] == "three"
    # maaskit's own headers still replace httpx's defaults of the same name.
    assert first.headers.get_list("User-Agent") == [first.headers["User-Agent"]]
    assert first.headers["Accept"] == "application/json"


@pytest.mark.parametrize("setting", ["cookies", "params"])
async def test_a_passed_http_clients_cookies_and_query_are_sent(
    harness: Harness, respx_mock: respx.MockRouter, setting: str
) -> None:
    route = respx_mock.get(f"{BASE_URL}/models").respond(200, json=MODELS_BODY)
    http_client = pool(harness, **{setting: {"sid": "s1"}})
    client = harness.client(http_client=http_client)

    await harness.call(client.models)

    sent = route.calls[0].request
    if setting == "cookies":
        assert sent.headers["Cookie"] == "sid=s1"
    else:
        assert sent.url.params["sid"] == "s1"
    assert sent.headers["X-MaaSKit-Attempt"] == "1"
