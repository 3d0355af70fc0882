"""The hf provider's generation routes (TGI /generate and /generate_stream, the Inference
API's generation payload), sync and async."""

from __future__ import annotations

import json
from typing import Any

import maaskit
import pytest
import respx
from maaskit.providers import HFProvider

from ..conftest import Harness, sse
from ._util import sent_json, split_every, streamed, texts_until_error

BASE = "http://hf.test/models/tiny"


def client(harness: Harness, **options: Any) -> Any:
    options.setdefault("provider", "hf")
    return harness.client(base_url=BASE, **options)


def token_event(text: str, special: bool = False, **final: Any) -> str:
    event = {
        "index": 1,
        "token": {"id": 5, "text": text, "logprob": -0.5, "special": special},
        "generated_text": final.get("generated_text"),
        "details": final.get("details"),
    }
    return json.dumps(event)


# -- generation ----------------------------------------------------------------------------


async def test_complete_posts_to_tgi_generate(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    answer = {
        "generated_text": " there",
        "details": {"finish_reason": "eos_token", "generated_tokens": 2, "seed": None},
    }
    route = respx_mock.post(f"{BASE}/generate").respond(
        200, json=answer, headers={"x-prompt-tokens": "4", "x-generated-tokens": "2"}
    )

    completion = await harness.call(
        client(harness).complete,
        model="gpt2",
        prompt="hello",
        max_tokens=8,
        temperature=0,
        top_p=1.0,
        stop="\n",
        seed=3,
        provider_params={"repetition_penalty": 1.2},
    )

    assert sent_json(route) == {
        "inputs": "hello",
        "parameters": {
            "details": True,
            "max_new_tokens": 8,
            "do_sample": False,
            "stop": ["\n"],
            "seed": 3,
            "repetition_penalty": 1.2,
        },
    }
    assert completion.text == " there"
    assert completion.finish_reason == "stop"
    assert completion.usage == maaskit.Usage(prompt_tokens=4, completion_tokens=2, total_tokens=6)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [("length", "length"), ("stop_sequence", "stop"), ("eos_token", "stop")],
)
async def test_inference_route_list_answer_and_finish_reasons(
    harness: Harness, respx_mock: respx.MockRouter, reason: str, expected: str
) -> None:
    answer = [{"generated_text": "x", "details": {"finish_reason": reason, "generated_tokens": 1}}]
    route = respx_mock.post(BASE).respond(200, json=answer)
    provider = HFProvider(complete_route="inference")

    completion = await harness.call(
        client(harness, provider=provider).complete, model="m", prompt="p", temperature=0.7
    )

    assert sent_json(route) == {
        "inputs": "p",
        "parameters": {"details": True, "temperature": 0.7},
        "stream": False,
    }
    assert completion.finish_reason == expected
    assert completion.usage.completion_tokens == 1


async def test_generated_text_without_details(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{BASE}/generate").respond(200, json={"generated_text": "just text"})

    completion = await harness.call(
        client(harness).complete, model="m", prompt="p", provider_params={"details": False}
    )

    assert completion.text == "just text"
    assert completion.finish_reason is None
    assert completion.usage is None


@pytest.mark.parametrize("size", [3, 10_000])
async def test_generate_stream_sse_tokens_in_any_split(
    harness: Harness, respx_mock: respx.MockRouter, size: int
) -> None:
    final = {"finish_reason": "eos_token", "generated_tokens": 3, "seed": None}
    body = sse(
        token_event("Hel"),
        token_event("lo"),
        token_event("</s>", special=True, generated_text="Hello", details=final),
    )
    route = respx_mock.post(f"{BASE}/generate_stream").mock(
        return_value=streamed(split_every(body, size))
    )

    stream = await harness.call(
        client(harness).complete, model="m", prompt="p", stream=True, max_tokens=3
    )
    chunks = await harness.collect(stream)

    assert [c.text for c in chunks] == ["Hel", "lo", ""]
    assert stream.text == "Hello"
    assert [c.finish_reason for c in chunks] == [None, None, "stop"]
    assert chunks[-1].usage.completion_tokens == 3
    assert chunks[-1].raw["generated_text"] == "Hello"
    assert sent_json(route) == {
        "inputs": "p",
        "parameters": {"details": True, "max_new_tokens": 3},
    }


async def test_inference_route_streams_from_the_base_url(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(BASE).mock(return_value=streamed([sse(token_event("a"))]))
    provider = HFProvider(complete_route="inference")

    stream = await harness.call(
        client(harness, provider=provider).complete, model="m", prompt="p", stream=True
    )

    assert [c.text for c in await harness.collect(stream)] == ["a"]
    assert sent_json(route)["stream"] is True


async def test_tgi_in_band_stream_error(harness: Harness, respx_mock: respx.MockRouter) -> None:
    error = json.dumps({"error": "Request failed during generation", "error_type": "generation"})
    respx_mock.post(f"{BASE}/generate_stream").mock(
        return_value=streamed([sse(token_event("a"), error)])
    )

    stream = await harness.call(client(harness).complete, model="m", prompt="p", stream=True)
    texts, failure = await texts_until_error(harness.is_async, stream)

    assert texts == ["a"]
    assert isinstance(failure, maaskit.ServerError)
    assert failure.provider_message == "Request failed during generation"
