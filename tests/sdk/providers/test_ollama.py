"""The ollama provider through the real transports (respx), sync and async."""

from __future__ import annotations

import json
from typing import Any

import httpx
import maaskit
import pytest
import respx

from ..conftest import Harness
from ._util import sent_json, split_every, streamed, texts_until_error

BASE = "http://ollama.test:11434"
MESSAGES = [{"role": "user", "content": "hi"}]
COUNTS = {
    "total_duration": 5_000_000,
    "load_duration": 1_000_000,
    "prompt_eval_count": 7,
    "prompt_eval_duration": 2_000_000,
    "eval_count": 3,
    "eval_duration": 1_500_000,
}


def client(harness: Harness, **options: Any) -> Any:
    return harness.client(provider="ollama", base_url=BASE, **options)


def ndjson(*objects: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objects)


async def test_chat_request_and_answer(harness: Harness, respx_mock: respx.MockRouter) -> None:
    answer = {
        "model": "llama3",
        "message": {"role": "assistant", "content": "Hello!"},
        "done": True,
        "done_reason": "stop",
        **COUNTS,
    }
    route = respx_mock.post(f"{BASE}/api/chat").respond(200, json=answer)

    response = await harness.call(
        client(harness).chat,
        model="llama3",
        messages=MESSAGES,
        max_tokens=20,
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        seed=7,
        stop="\n",
        provider_params={"format": "json", "keep_alive": "5m"},
    )

    assert sent_json(route) == {
        "model": "llama3",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": False,
        "format": "json",
        "keep_alive": "5m",
        "options": {
            "num_predict": 20,
            "temperature": 0.2,
            "top_p": 0.9,
            "top_k": 40,
            "seed": 7,
            "stop": ["\n"],
        },
    }
    assert response.text == "Hello!"
    assert response.finish_reason == "stop"
    assert response.model == "llama3"
    assert response.usage == maaskit.Usage(prompt_tokens=7, completion_tokens=3, total_tokens=10)
    assert response.raw["eval_duration"] == 1_500_000
    assert response.raw["total_duration"] == 5_000_000


async def test_explicit_options_win_and_text_parts_are_joined(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    answer = {"model": "m", "message": {"role": "assistant", "content": "x"}, "done": True}
    route = respx_mock.post(f"{BASE}/api/chat").respond(200, json=answer)
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]

    response = await harness.call(
        client(harness).chat,
        model="m",
        messages=[{"role": "user", "content": parts}],
        max_tokens=5,
        provider_params={"options": {"num_predict": 9, "num_ctx": 4096}},
    )

    body = sent_json(route)
    assert body["messages"] == [{"role": "user", "content": "ab"}]
    assert body["options"] == {"num_predict": 9, "num_ctx": 4096}
    # An answer without done_reason (older Ollama) that is done has stopped.
    assert response.finish_reason == "stop"
    assert response.usage is None


async def test_generate_with_length_finish(harness: Harness, respx_mock: respx.MockRouter) -> None:
    answer = {"model": "m", "response": "Once upon", "done": True, "done_reason": "length"}
    answer.update(COUNTS)
    route = respx_mock.post(f"{BASE}/api/generate").respond(200, json=answer)

    completion = await harness.call(
        client(harness).complete,
        model="m",
        prompt=["Tell me"],
        max_tokens=2,
        provider_params={"system": "be brief"},
    )

    assert sent_json(route) == {
        "model": "m",
        "prompt": "Tell me",
        "system": "be brief",
        "stream": False,
        "options": {"num_predict": 2},
    }
    assert completion.text == "Once upon"
    assert completion.finish_reason == "length"
    assert completion.usage.completion_tokens == 3


async def test_embed_and_models(harness: Harness, respx_mock: respx.MockRouter) -> None:
    embed = respx_mock.post(f"{BASE}/api/embed").respond(
        200, json={"model": "e", "embeddings": [[0.5, -1], [2, 0.25]], "prompt_eval_count": 4}
    )
    tags = respx_mock.get(f"{BASE}/api/tags").respond(
        200,
        json={
            "models": [
                {"name": "llama3:latest", "model": "llama3:latest", "size": 1},
                {"name": "all-minilm:latest", "model": "all-minilm:latest", "size": 2},
            ]
        },
    )
    c = client(harness)

    vectors = await harness.call(
        c.embed, model="e", input=["a", "b"], provider_params={"truncate": True}
    )
    models = await harness.call(c.models)

    assert sent_json(embed) == {"model": "e", "input": ["a", "b"], "truncate": True}
    assert vectors.vectors == [[0.5, -1.0], [2.0, 0.25]]
    assert vectors.usage.prompt_tokens == 4
    assert [m.id for m in models] == ["llama3:latest", "all-minilm:latest"]
    assert models[0].raw["size"] == 1
    assert tags.calls[0].request.method == "GET"


@pytest.mark.parametrize("size", [5, 1000])
async def test_chat_stream_ndjson_in_any_split(
    harness: Harness, respx_mock: respx.MockRouter, size: int
) -> None:
    body = ndjson(
        {"model": "m", "message": {"role": "assistant", "content": "Hel"}, "done": False},
        {"model": "m", "message": {"role": "assistant", "content": "lo"}, "done": False},
        {
            "model": "m",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "length",
            **COUNTS,
        },
    )
    route = respx_mock.post(f"{BASE}/api/chat").mock(
        return_value=streamed(split_every(body, size), "application/x-ndjson")
    )

    stream = await harness.call(client(harness).chat, model="m", messages=MESSAGES, stream=True)
    chunks = await harness.collect(stream)

    assert [c.text for c in chunks] == ["Hel", "lo", ""]
    assert [c.finish_reason for c in chunks] == [None, None, "length"]
    assert chunks[0].usage is None
    assert chunks[-1].usage == maaskit.Usage(prompt_tokens=7, completion_tokens=3, total_tokens=10)
    assert chunks[-1].raw["eval_duration"] == 1_500_000
    assert stream.text == "Hello"
    assert sent_json(route)["stream"] is True
    assert route.calls[0].request.headers["accept"] == "application/x-ndjson"


async def test_generate_stream_with_an_in_band_error_line(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    body = ndjson({"model": "m", "response": "Once", "done": False}, {"error": "out of memory"})
    respx_mock.post(f"{BASE}/api/generate").mock(
        return_value=streamed([body], "application/x-ndjson")
    )

    stream = await harness.call(client(harness).complete, model="m", prompt="p", stream=True)
    received, error = await texts_until_error(harness.is_async, stream)

    assert received == ["Once"]
    assert isinstance(error, maaskit.ServerError)
    assert error.provider_message == "out of memory"
    assert error.partial_text == "Once"


async def test_stream_whose_last_line_has_no_newline(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    body = ndjson({"response": "a", "done": False}) + b'{"response": "b", "done": true}'
    respx_mock.post(f"{BASE}/api/generate").mock(return_value=streamed([body]))

    stream = await harness.call(client(harness).complete, model="m", prompt="p", stream=True)

    assert [c.text for c in await harness.collect(stream)] == ["a", "b"]


async def test_error_body_is_typed_with_ollama_message(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{BASE}/api/chat").respond(404, json={"error": "model 'nope' not found"})

    with pytest.raises(maaskit.NotFoundError) as caught:
        await harness.call(client(harness).chat, model="nope", messages=MESSAGES)

    assert caught.value.provider_message == "model 'nope' not found"
    assert "model 'nope' not found" in str(caught.value)


async def test_malformed_answer_is_a_validation_error(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{BASE}/api/generate").respond(200, json={"done": True})

    with pytest.raises(maaskit.ResponseValidationError, match="complete"):
        await harness.call(client(harness).complete, model="m", prompt="p")


@pytest.mark.parametrize(
    ("method", "kwargs", "error", "match"),
    [
        ("classify", {"input": ["x"]}, NotImplementedError, "no 'classify' task"),
        ("complete", {"prompt": ["a", "b"]}, ValueError, "one prompt per call"),
        ("chat", {"messages": MESSAGES, "n": 2}, ValueError, "n must be 1"),
        ("chat", {"messages": MESSAGES, "stop": 3}, TypeError, "stop must be"),
        (
            "chat",
            {"messages": MESSAGES, "provider_params": {"options": [1]}},
            TypeError,
            "options must be a dict",
        ),
        (
            "chat",
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            ValueError,
            "text content only",
        ),
    ],
)
async def test_bad_calls_fail_before_any_request(
    harness: Harness,
    respx_mock: respx.MockRouter,
    method: str,
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        await harness.call(getattr(client(harness), method), model="m", **kwargs)

    assert respx_mock.calls.call_count == 0


def test_supports_everything_but_classification() -> None:
    from maaskit._tasks import CHAT, CLASSIFY, COMPLETE, EMBED, MODELS
    from maaskit.providers import OllamaProvider

    provider = OllamaProvider()
    assert [provider.supports(t) for t in (CHAT, COMPLETE, EMBED, MODELS)] == [True] * 4
    assert not provider.supports(CLASSIFY)


async def test_connection_error_stays_typed(harness: Harness, respx_mock: respx.MockRouter) -> None:
    respx_mock.get(f"{BASE}/api/tags").mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(maaskit.APIConnectionError):
        await harness.call(client(harness, max_retries=0).models)
