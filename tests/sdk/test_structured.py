"""Structured outputs (``response_format=`` a pydantic model or a dict) and typed logprobs,
through respx answers in the OpenAI API's shapes."""

from __future__ import annotations

import json
from typing import Any

import maaskit
import openai.types
import openai.types.chat
import pytest
import respx
from pydantic import BaseModel

from . import _openai_shapes as shapes
from ._streams import final_of
from .conftest import BASE_URL, Harness

ASK = [{"role": "user", "content": "Describe a person"}]


class Address(BaseModel):
    city: str
    zip: str | None = None


class Person(BaseModel):
    name: str
    age: int
    addresses: list[Address]


PERSON_JSON = '{"name": "Ada", "age": 36, "addresses": [{"city": "London", "zip": null}]}'


def answer(content: str, finish_reason: str = "stop") -> dict[str, Any]:
    message = {"role": "assistant", "content": content, "refusal": None}
    body = shapes.chat_completion(shapes.completion_message(message, finish_reason))
    openai.types.chat.ChatCompletion.model_validate(body)
    return body


async def test_a_model_class_is_sent_as_a_strict_json_schema_and_parsed(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=answer(PERSON_JSON))
    client = harness.client()

    reply = await harness.call(client.chat, model="m", messages=ASK, response_format=Person)

    sent = json.loads(route.calls.last.request.content)["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "Person"
    assert sent["json_schema"]["strict"] is True
    schema = sent["json_schema"]["schema"]
    # OpenAI's strict mode: every object closed, every property required.
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "age", "addresses"]
    address = schema["$defs"]["Address"]
    assert address["additionalProperties"] is False
    assert address["required"] == ["city", "zip"]
    assert isinstance(reply.parsed, Person)
    assert reply.parsed == Person(name="Ada", age=36, addresses=[Address(city="London")])
    assert reply.choices[0].message.parsed is reply.parsed
    assert reply.text == PERSON_JSON


async def test_an_answer_that_does_not_validate_raises_with_the_raw_text(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    bad = '{"name": "Ada", "age": "old", "addresses": []}'
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=answer(bad))
    client = harness.client()

    with pytest.raises(
        maaskit.OutputValidationError, match="does not validate as Person"
    ) as caught:
        await harness.call(client.chat, model="m", messages=ASK, response_format=Person)

    assert caught.value.text == bad
    assert caught.value.errors[0]["loc"] == ("age",)
    assert isinstance(caught.value.result, maaskit.ChatResponse)


async def test_a_cut_off_answer_raises_output_validation_error(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(
        200, json=answer('{"name": "A', "length")
    )
    client = harness.client()

    with pytest.raises(maaskit.OutputValidationError, match="cut off") as caught:
        await harness.call(client.chat, model="m", messages=ASK, response_format=Person)

    assert caught.value.finish_reason == "length"
    assert caught.value.text == '{"name": "A'


async def test_a_dict_response_format_is_sent_unchanged_and_not_parsed(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=answer("{}"))
    client = harness.client()

    reply = await harness.call(
        client.chat, model="m", messages=ASK, response_format={"type": "json_object"}
    )

    assert json.loads(route.calls.last.request.content)["response_format"] == {
        "type": "json_object"
    }
    assert reply.parsed is None


async def test_a_streamed_structured_answer_is_parsed_by_final(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    pieces = [PERSON_JSON[i : i + 7] for i in range(0, len(PERSON_JSON), 7)]
    events = [shapes.chunk(shapes.delta(role="assistant", content=""))]
    events += [shapes.chunk(shapes.delta(content=piece)) for piece in pieces]
    events.append(shapes.chunk(shapes.delta(finish_reason="stop")))
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, content=shapes.sse_of(events))
    client = harness.client()

    stream = await harness.call(
        client.chat, model="m", messages=ASK, response_format=Person, stream=True
    )
    final = await final_of(stream)

    assert final.parsed == Person(name="Ada", age=36, addresses=[Address(city="London")])
    assert final.text == PERSON_JSON


def chat_logprobs() -> dict[str, Any]:
    return {
        "content": [
            shapes.token_logprob("Hi", -0.1, {"Hi": -0.1, "Hello": -2.5}),
            shapes.token_logprob("!", -0.3, {"!": -0.3, ".": -1.4}),
        ],
        "refusal": None,
    }


async def test_chat_logprobs_are_typed(harness: Harness, respx_mock: respx.MockRouter) -> None:
    body = shapes.chat_completion(
        shapes.completion_message(
            {"role": "assistant", "content": "Hi!"}, "stop", logprobs=chat_logprobs()
        )
    )
    openai.types.chat.ChatCompletion.model_validate(body)
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=body)
    client = harness.client()

    reply = await harness.call(client.chat, model="m", messages=ASK, logprobs=True, top_logprobs=2)

    logprobs = reply.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.content is not None
    first = logprobs.content[0]
    assert isinstance(first, maaskit.TokenLogprob)
    assert (first.token, first.logprob, first.bytes) == ("Hi", -0.1, [72, 105])
    assert [(t.token, t.logprob) for t in first.top_logprobs] == [("Hi", -0.1), ("Hello", -2.5)]


async def test_streamed_chat_logprobs_are_joined(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    content = chat_logprobs()["content"]
    events = [
        shapes.chunk(
            shapes.delta(content="Hi", logprobs={"content": [content[0]], "refusal": None})
        ),
        shapes.chunk(
            shapes.delta(
                content="!",
                finish_reason="stop",
                logprobs={"content": [content[1]], "refusal": None},
            )
        ),
    ]
    for event in events:
        openai.types.chat.ChatCompletionChunk.model_validate(event)
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, content=shapes.sse_of(events))
    client = harness.client()

    stream = await harness.call(client.chat, model="m", messages=ASK, logprobs=True, stream=True)
    chunks = await harness.collect(stream)
    final = await final_of(stream)

    assert chunks[0].logprobs is not None
    assert chunks[0].logprobs.content is not None
    assert chunks[0].logprobs.content[0].token == "Hi"
    joined = final.choices[0].logprobs
    assert joined is not None
    assert joined.content is not None
    assert [t.token for t in joined.content] == ["Hi", "!"]


def completion_logprobs(tokens: list[str], offset: int = 0) -> dict[str, Any]:
    return {
        "tokens": tokens,
        "token_logprobs": [-0.5] * len(tokens),
        "top_logprobs": [{token: -0.5} for token in tokens],
        "text_offset": list(range(offset, offset + len(tokens))),
    }


async def test_completion_logprobs_are_typed_and_streamed(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    body = shapes.text_completion(
        shapes.text_choice("To be", logprobs=completion_logprobs(["To", " be"]))
    )
    openai.types.Completion.model_validate(body)
    respx_mock.post(f"{BASE_URL}/completions").respond(200, json=body)
    client = harness.client()

    completion = await harness.call(client.complete, model="m", prompt="p", logprobs=1)

    (logprobs,) = completion.logprobs
    assert isinstance(logprobs, maaskit.CompletionLogprobs)
    assert logprobs.tokens == ["To", " be"]
    assert logprobs.top_logprobs == [{"To": -0.5}, {" be": -0.5}]
    assert completion.system_fingerprint == shapes.FINGERPRINT

    def event(text: str, tokens: list[str], offset: int, finish: str | None) -> dict[str, Any]:
        item = shapes.text_completion(
            shapes.text_choice(
                text, finish_reason=finish, logprobs=completion_logprobs(tokens, offset)
            )
        )
        del item["usage"]
        return item

    events = [event("To", ["To"], 0, None), event(" be", [" be"], 1, "stop")]
    respx_mock.post(f"{BASE_URL}/completions").respond(200, content=shapes.sse_of(events))
    stream = await harness.call(client.complete, model="m", prompt="p", logprobs=1, stream=True)
    final = await final_of(stream)

    assert final.text == "To be"
    (joined,) = final.logprobs
    assert joined is not None
    assert joined.tokens == ["To", " be"]
    assert joined.text_offset == [0, 1]
