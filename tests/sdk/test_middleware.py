"""The middleware chain: once per attempt (retries and failover included), in order, able to
sign headers, short-circuit with its own response, and observe; it never sees the API key.
Sync middleware on ``Client`` and async middleware on ``AsyncClient``, same behaviour."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import maaskit
import pytest
import respx
from maaskit import AttemptInfo

from .conftest import BASE_URL, SECRET, Harness

EMBED = f"{BASE_URL}/embeddings"
ANSWER = {"data": [{"index": 0, "embedding": [1.0, 0.0]}], "model": "m"}

Action = Callable[[httpx.Request, Callable[[httpx.Request], httpx.Response], AttemptInfo], Any]


def as_middleware(
    harness: Harness, before: Any = None, answer: Any = None, after: Any = None
) -> Any:
    """One middleware for the harness's client type: ``before(request, info)`` runs first,
    ``answer(request, info)`` may return a response instead of calling on, ``after(response,
    info)`` sees the response."""

    def sync(
        request: httpx.Request, call_next: maaskit.CallNext, info: AttemptInfo
    ) -> httpx.Response:
        if before is not None:
            before(request, info)
        own = answer(request, info) if answer is not None else None
        response = own if own is not None else call_next(request)
        if after is not None:
            after(response, info)
        return response

    async def asynchronous(
        request: httpx.Request,
        call_next: Callable[[httpx.Request], Awaitable[httpx.Response]],
        info: AttemptInfo,
    ) -> httpx.Response:
        if before is not None:
            before(request, info)
        own = answer(request, info) if answer is not None else None
        response = own if own is not None else await call_next(request)
        if after is not None:
            after(response, info)
        return response

    return asynchronous if harness.is_async else sync


async def embed(harness: Harness, client: Any) -> Any:
    return await harness.call(client.embed, model="m", input=["a"])


async def test_runs_in_order_and_can_sign_each_attempt(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(EMBED).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=ANSWER)]
    )
    order: list[str] = []
    seen: list[AttemptInfo] = []

    def sign(request: httpx.Request, info: AttemptInfo) -> None:
        order.append("sign")
        seen.append(info)
        digest = hmac.new(b"k", request.content, hashlib.sha256).hexdigest()
        request.headers["X-Signature"] = f"{info.attempt}:{digest}"

    def trace(request: httpx.Request, info: AttemptInfo) -> None:
        order.append("trace")
        request.headers["X-Trace"] = "t-1"

    client = harness.client(
        middleware=[as_middleware(harness, before=sign), as_middleware(harness, before=trace)]
    )
    result = await embed(harness, client)

    assert result.vectors == [[1.0, 0.0]]
    assert route.call_count == 2
    assert order == ["sign", "trace", "sign", "trace"]  # once per attempt, first outermost
    assert [(i.attempt, i.endpoint, i.task, i.model) for i in seen] == [
        (1, "default", "embed", "m"),
        (2, "default", "embed", "m"),
    ]
    for number, call in enumerate(route.calls, start=1):
        sent = call.request
        digest = hmac.new(b"k", sent.content, hashlib.sha256).hexdigest()
        assert sent.headers["x-signature"] == f"{number}:{digest}"
        assert sent.headers["x-trace"] == "t-1"
        assert sent.headers["authorization"] == f"Bearer {SECRET}"


async def test_short_circuit_answer_is_parsed_and_nothing_is_sent(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(EMBED).respond(500)
    cached = {"data": [{"index": 0, "embedding": [0.5, 0.5]}], "model": "cache"}
    client = harness.client(
        middleware=[as_middleware(harness, answer=lambda r, i: httpx.Response(200, json=cached))]
    )
    result = await embed(harness, client)
    assert result.vectors == [[0.5, 0.5]]
    assert result.model == "cache"
    assert route.call_count == 0


async def test_a_short_circuit_error_status_is_retried_like_the_servers(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(EMBED).respond(200, json=ANSWER)

    def refuse_first(request: httpx.Request, info: AttemptInfo) -> httpx.Response | None:
        if info.attempt == 1:
            return httpx.Response(503, json={"error": {"message": "shed by middleware"}})
        return None

    client = harness.client(middleware=[as_middleware(harness, answer=refuse_first)])
    result = await embed(harness, client)
    assert result.vectors == [[1.0, 0.0]]
    assert route.call_count == 1
    assert len(harness.sleeps) == 1  # one backoff, as after a server 503


async def test_runs_once_per_attempt_across_failover(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post("http://a.test/v1/embeddings").respond(503)
    respx_mock.post("http://b.test/v1/embeddings").respond(200, json=ANSWER)
    seen: list[tuple[int, str]] = []
    client = harness.client(
        base_url=None,
        api_key=None,
        endpoints=[
            maaskit.Endpoint(name=name, provider="openai", base_url=f"http://{name}.test/v1")
            for name in ("a", "b")
        ],
        middleware=[
            as_middleware(harness, before=lambda r, i: seen.append((i.attempt, i.endpoint)))
        ],
    )
    await embed(harness, client)
    assert seen == [(1, "a"), (2, "b")]


async def test_observes_responses_and_transport_errors(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(EMBED).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=ANSWER)]
    )
    statuses: list[int] = []
    errors: list[str] = []

    def observe(
        request: httpx.Request, call_next: maaskit.CallNext, info: AttemptInfo
    ) -> httpx.Response:
        try:
            response = call_next(request)
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)
            raise
        statuses.append(response.status_code)
        return response

    async def aobserve(
        request: httpx.Request, call_next: maaskit.AsyncCallNext, info: AttemptInfo
    ) -> httpx.Response:
        try:
            response = await call_next(request)
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)
            raise
        statuses.append(response.status_code)
        return response

    client = harness.client(middleware=[aobserve if harness.is_async else observe])
    await embed(harness, client)
    assert errors == ["ConnectError"]
    assert statuses == [200]


async def test_never_sees_the_api_key(harness: Harness, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(EMBED).respond(200, json=ANSWER)
    seen: list[str] = []

    def record_request(request: httpx.Request, info: AttemptInfo) -> None:
        seen.append(repr(request) + repr(request.headers) + str(dict(request.headers)))

    def record_response(response: httpx.Response, info: AttemptInfo) -> None:
        sent = response.request
        seen.append(repr(sent) + str(dict(sent.headers)) + repr(info) + str(vars(info)))

    client = harness.client(
        middleware=[as_middleware(harness, before=record_request, after=record_response)]
    )
    await embed(harness, client)
    assert len(seen) == 2
    assert not any(SECRET in text for text in seen)
    assert not any("authorization" in text.lower() for text in seen)
    assert SECRET not in repr(client)


async def test_a_middleware_that_returns_no_response_is_a_type_error(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(EMBED).respond(200, json=ANSWER)

    def broken(request: httpx.Request, call_next: Any, info: AttemptInfo) -> Any:
        return None

    async def abroken(request: httpx.Request, call_next: Any, info: AttemptInfo) -> Any:
        return None

    client = harness.client(middleware=[abroken if harness.is_async else broken])
    with pytest.raises(TypeError, match=r"middleware\[0\] returned NoneType"):
        await embed(harness, client)


def test_middleware_must_be_callables() -> None:
    with pytest.raises(TypeError, match="not callable"):
        maaskit.Client(base_url=BASE_URL, api_key=SECRET, middleware=["x"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="list of callables"):
        maaskit.Client(base_url=BASE_URL, api_key=SECRET, middleware=print)  # type: ignore[arg-type]


async def test_with_options_copies_keep_the_chain(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(EMBED).respond(200, json=ANSWER)
    calls: list[int] = []
    client = harness.client(
        middleware=[as_middleware(harness, before=lambda r, i: calls.append(1))]
    )
    await embed(harness, client.with_options(max_retries=0))
    assert calls == [1]


async def test_streams_go_through_the_chain(harness: Harness, respx_mock: respx.MockRouter) -> None:
    body = (
        b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"hi"},'
        b'"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    )
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(
        200, content=body, headers={"content-type": "text/event-stream"}
    )
    client = harness.client(
        middleware=[as_middleware(harness, before=lambda r, i: r.headers.update({"X-S": "1"}))]
    )
    stream = await harness.call(
        client.chat, model="m", messages=[{"role": "user", "content": "x"}], stream=True
    )
    chunks = await harness.collect(stream)
    assert "".join(c.text or "" for c in chunks) == "hi"
    assert route.calls.last.request.headers["x-s"] == "1"


async def test_endpoint_middleware_runs_inside_the_clients_for_its_endpoint_only(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post("http://a.test/v1/embeddings").respond(503)
    b = respx_mock.post("http://b.test/v1/embeddings").respond(200, json=ANSWER)
    order: list[str] = []

    def on(label: str) -> Any:
        return as_middleware(harness, before=lambda r, i: order.append(f"{label}:{i.endpoint}"))

    def sign_b(request: httpx.Request, info: AttemptInfo) -> None:
        request.headers["X-B-Signature"] = "sig"

    client = harness.client(
        base_url=None,
        api_key=None,
        endpoints=[
            maaskit.Endpoint(name="a", provider="openai", base_url="http://a.test/v1"),
            maaskit.Endpoint(
                name="b",
                provider="openai",
                base_url="http://b.test/v1",
                middleware=(on("b-own"), as_middleware(harness, before=sign_b)),
            ),
        ],
        middleware=[on("client")],
    )
    await embed(harness, client)
    assert order == ["client:a", "client:b", "b-own:b"]
    assert b.calls.last.request.headers["x-b-signature"] == "sig"


def test_the_wrong_kind_of_middleware_is_refused_at_construction() -> None:
    def plain(request: httpx.Request, call_next: maaskit.CallNext, info: AttemptInfo) -> Any:
        return call_next(request)

    async def coroutine(
        request: httpx.Request, call_next: maaskit.AsyncCallNext, info: AttemptInfo
    ) -> Any:
        return await call_next(request)

    with pytest.raises(TypeError, match="is an async function; a Client needs plain"):
        maaskit.Client(base_url=BASE_URL, api_key=SECRET, middleware=[coroutine])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="must be an async function for an AsyncClient"):
        maaskit.AsyncClient(base_url=BASE_URL, api_key=SECRET, middleware=[plain])  # type: ignore[list-item]
    endpoint = maaskit.Endpoint(name="e", provider="openai", base_url=BASE_URL, middleware=(plain,))
    with pytest.raises(TypeError, match="endpoint 'e': middleware"):
        maaskit.AsyncClient(endpoints=[endpoint])
    with pytest.raises(TypeError, match="endpoint 'x': middleware must be a list"):
        maaskit.Endpoint(name="x", provider="openai", base_url=BASE_URL, middleware=plain)  # type: ignore[arg-type]
