"""``async with client.chat(..., stream=True) as stream`` (defect 4 of issue #16: it failed with
"'coroutine' object does not support the asynchronous context manager protocol"), and the
plain ``await`` form next to it."""

from __future__ import annotations

import httpx
import maaskit
import pytest
import respx

from .conftest import BASE_URL, SECRET, TrackingStream, chunk_event, sse

MESSAGES = [{"role": "user", "content": "hi"}]


def client() -> maaskit.AsyncClient:
    return maaskit.AsyncClient(base_url=BASE_URL, api_key=SECRET)


async def test_async_with_streams_and_closes_the_connection(respx_mock: respx.MockRouter) -> None:
    body = TrackingStream([sse(chunk_event("Hel"), chunk_event("lo", "stop"), "[DONE]")])
    respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        return_value=httpx.Response(200, stream=body)
    )
    async with client() as c:
        async with c.chat(model="m", messages=MESSAGES, stream=True) as stream:
            assert isinstance(stream, maaskit.AsyncStream)
            first = await stream.__anext__()
            assert first.text == "Hel"
        # Leaving the block early closes the stream and its connection.
        assert stream.closed
        assert body.closed


async def test_await_then_async_for_keeps_working(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(
        200, content=sse(chunk_event("a"), chunk_event("b", "stop"), "[DONE]")
    )
    async with client() as c:
        stream = await c.chat(model="m", messages=MESSAGES, stream=True)
        assert [chunk.text async for chunk in stream] == ["a", "b"]


async def test_async_with_complete(respx_mock: respx.MockRouter) -> None:
    event = '{"id":"c","model":"m","choices":[{"index":0,"text":"To be","finish_reason":"stop"}]}'
    respx_mock.post(f"{BASE_URL}/completions").respond(200, content=sse(event, "[DONE]"))
    async with client() as c, c.complete(model="m", prompt="p", stream=True) as stream:
        assert [chunk.text async for chunk in stream] == ["To be"]


async def test_nothing_is_sent_until_awaited_or_entered(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, content=sse("[DONE]"))
    async with client() as c:
        pending = c.chat(model="m", messages=MESSAGES, stream=True)
        assert respx_mock.calls.call_count == 0
        await (await pending).aclose()
        assert respx_mock.calls.call_count == 1


async def test_an_error_inside_the_block_still_closes_the_stream(
    respx_mock: respx.MockRouter,
) -> None:
    body = TrackingStream([sse(chunk_event("a")), sse(chunk_event("b", "stop"), "[DONE]")])
    respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        return_value=httpx.Response(200, stream=body)
    )
    async with client() as c:
        with pytest.raises(KeyError):
            async with c.chat(model="m", messages=MESSAGES, stream=True) as stream:
                raise KeyError("app failure")
        assert stream.closed
        assert body.closed


def test_sync_with_streams_and_closes(respx_mock: respx.MockRouter) -> None:
    body = TrackingStream([sse(chunk_event("a"), chunk_event("b", "stop"), "[DONE]")])
    respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        return_value=httpx.Response(200, stream=body)
    )
    with maaskit.Client(base_url=BASE_URL, api_key=SECRET) as c:
        with c.chat(model="m", messages=MESSAGES, stream=True) as stream:
            assert next(stream).text == "a"
        assert stream.closed
        assert body.closed
