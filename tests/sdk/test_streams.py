"""Streaming through the real transports, sync and async: retry only before the first chunk,
partial text kept after it, early exit closes the connection, in-band errors are typed."""

from __future__ import annotations

from typing import Any

import httpx
import maaskit
import pytest
import respx

from .conftest import BASE_URL, Harness, TrackingStream, chunk_event, sse

MESSAGES = [{"role": "user", "content": "hi"}]
URL = f"{BASE_URL}/chat/completions"


def streamed(parts: list[bytes | Exception]) -> tuple[httpx.Response, TrackingStream]:
    body = TrackingStream(parts)
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body), body


async def open_stream(harness: Harness, client: Any, **params: Any) -> Any:
    return await harness.call(client.chat, model="m", messages=MESSAGES, stream=True, **params)


async def test_stream_yields_typed_chunks_and_usage(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    usage = (
        '{"id":"c","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":2,"total_tokens":4}}'
    )
    body = sse(chunk_event("Hel"), chunk_event("lo", "stop"), usage, "[DONE]")
    route = respx_mock.post(URL).respond(200, content=body)
    client = harness.client()

    stream = await open_stream(harness, client, stream_options={"include_usage": True})
    chunks = await harness.collect(stream)

    assert [c.text for c in chunks] == ["Hel", "lo", ""]
    assert chunks[1].finish_reason == "stop"
    assert chunks[-1].usage == maaskit.Usage(prompt_tokens=2, completion_tokens=2, total_tokens=4)
    assert stream.text == "Hello"
    sent = route.calls[0].request
    assert b'"stream":true' in sent.content.replace(b" ", b"")
    assert b'"include_usage":true' in sent.content.replace(b" ", b"")
    assert sent.headers["accept"] == "text/event-stream"


async def test_stream_that_fails_before_its_first_chunk_is_retried(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    broken, broken_body = streamed([b": keep-alive\n\n", httpx.ReadError("reset")])
    good, _ = streamed([sse(chunk_event("ok"), "[DONE]")])
    route = respx_mock.post(URL).mock(side_effect=[httpx.Response(503), broken, good])
    client = harness.client()

    stream = await open_stream(harness, client)
    chunks = await harness.collect(stream)

    assert [c.text for c in chunks] == ["ok"]
    assert route.call_count == 3
    assert broken_body.closed
    keys = {call.request.headers["Idempotency-Key"] for call in route.calls}
    assert len(keys) == 1


async def test_stream_that_fails_after_a_chunk_is_raised_with_partial_text(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    response, body = streamed(
        [sse(chunk_event("Once upon")), sse(chunk_event(" a time")), httpx.ReadError("reset")]
    )
    route = respx_mock.post(URL).mock(side_effect=[response])
    client = harness.client()

    stream = await open_stream(harness, client)
    with pytest.raises(maaskit.APIConnectionError) as caught:
        await harness.collect(stream)

    assert route.call_count == 1
    assert caught.value.partial_text == "Once upon a time"
    assert caught.value.attempts == 1
    assert body.closed


async def test_in_band_error_event_raises_a_typed_error(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    error = '{"error":{"message":"model overloaded","type":"BadRequestError","code":400}}'
    respx_mock.post(URL).respond(200, content=sse(chunk_event("a"), error, "[DONE]"))
    client = harness.client()

    stream = await open_stream(harness, client)
    with pytest.raises(maaskit.BadRequestError) as caught:
        await harness.collect(stream)

    assert caught.value.provider_message == "model overloaded"
    assert caught.value.partial_text == "a"
    assert caught.value.endpoint == f"POST {URL}"


async def test_in_band_error_before_any_chunk_is_retried_when_retryable(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    overloaded = sse('{"error":{"message":"busy","type":"server_error"}}')
    route = respx_mock.post(URL).mock(
        side_effect=[
            httpx.Response(200, content=overloaded),
            httpx.Response(200, content=sse(chunk_event("fine"), "[DONE]")),
        ]
    )
    client = harness.client()

    chunks = await harness.collect(await open_stream(harness, client))

    assert [c.text for c in chunks] == ["fine"]
    assert route.call_count == 2


async def test_error_status_on_a_stream_request_is_typed(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(URL).respond(404, json={"error": {"message": "no such model"}})
    client = harness.client()

    with pytest.raises(maaskit.NotFoundError) as caught:
        await open_stream(harness, client)

    assert caught.value.provider_message == "no such model"
    assert caught.value.partial_text is None


async def test_leaving_a_stream_early_closes_the_response(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    parts: list[bytes | Exception] = [sse(chunk_event(str(i))) for i in range(50)]
    response, body = streamed(parts)
    respx_mock.post(URL).mock(side_effect=[response])
    client = harness.client()

    stream = await open_stream(harness, client)
    if harness.is_async:
        async with stream:
            async for chunk in stream:
                assert chunk.text == "0"
                break
    else:
        with stream:
            for chunk in stream:
                assert chunk.text == "0"
                break

    assert body.closed
    assert stream.closed
    assert body.parts_read < len(parts)


async def test_stream_closes_the_response_at_done(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    response, body = streamed([sse(chunk_event("x"), "[DONE]"), sse(chunk_event("ignored"))])
    respx_mock.post(URL).mock(side_effect=[response])
    client = harness.client()

    chunks = await harness.collect(await open_stream(harness, client))

    assert [c.text for c in chunks] == ["x"]
    assert body.closed


async def test_stream_without_done_ends_at_eof(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(URL).respond(200, content=sse(chunk_event("a"), chunk_event("b")))
    client = harness.client()

    chunks = await harness.collect(await open_stream(harness, client))

    assert [c.text for c in chunks] == ["a", "b"]


async def test_read_timeout_mid_stream_is_a_timeout_error(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    response, _ = streamed([sse(chunk_event("a")), httpx.ReadTimeout("idle")])
    respx_mock.post(URL).mock(side_effect=[response])
    client = harness.client()

    stream = await open_stream(harness, client)
    with pytest.raises(maaskit.APITimeoutError) as caught:
        await harness.collect(stream)

    assert caught.value.partial_text == "a"


async def test_completion_stream(harness: Harness, respx_mock: respx.MockRouter) -> None:
    events = ['{"choices":[{"text":"to be"}]}', '{"choices":[{"text":" or not"}]}', "[DONE]"]
    respx_mock.post(f"{BASE_URL}/completions").respond(200, content=sse(*events))
    client = harness.client()

    stream = await harness.call(client.complete, model="m", prompt="x", stream=True)
    chunks = await harness.collect(stream)

    assert "".join(c.text for c in chunks) == "to be or not"


class FakeClock:
    """Advances by ``step`` seconds every time it is read."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.mark.parametrize("is_async", [False, True])
async def test_keep_alive_comments_do_not_reset_the_idle_timeout(
    respx_mock: respx.MockRouter, is_async: bool
) -> None:
    comments: list[bytes | Exception] = [b": ping\n\n"] * 20
    response, body = streamed([sse(chunk_event("a")), *comments, sse(chunk_event("late"))])
    respx_mock.post(URL).mock(side_effect=[response])
    timeout = maaskit.Timeout(stream_idle=5.0)
    messages = [{"role": "user", "content": "hi"}]
    clock = FakeClock(step=1.0)

    async def drain() -> None:
        if is_async:
            async with maaskit.AsyncClient(base_url=BASE_URL, timeout=timeout, clock=clock) as c:
                _ = [
                    chunk async for chunk in await c.chat(model="m", messages=messages, stream=True)
                ]
        else:
            with maaskit.Client(base_url=BASE_URL, timeout=timeout, clock=clock) as client:
                _ = list(client.chat(model="m", messages=messages, stream=True))

    with pytest.raises(maaskit.APITimeoutError) as caught:
        await drain()

    assert caught.value.partial_text == "a"
    assert "no stream chunk within 5.0 s" in str(caught.value)
    assert body.parts_read < 22
    assert body.closed
