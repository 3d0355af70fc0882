"""Tool calls and structured outputs through ``maaskit.Client``/``AsyncClient`` on a live
reference server, whose constrained decoding (llguidance) makes the tiny model's answers
follow the schema: streamed tool calls assembled by ``Stream.final()`` validate against the
function's schema, and a pydantic ``response_format`` comes back as a ``.parsed`` instance.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import jsonschema
import maaskit
import pytest
import pytest_asyncio
from _support.server import ServerProcess
from pydantic import BaseModel

pytestmark = pytest.mark.e2e

MODEL = "tiny-shakespeare"
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city", "days"],
    "additionalProperties": False,
}
STOCK = {
    "type": "object",
    "properties": {"symbol": {"type": "string", "pattern": "^[A-Z]{3,4}$"}},
    "required": ["symbol"],
}
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "get_stock", "parameters": STOCK}},
]
SCHEMAS = {"get_weather": WEATHER, "get_stock": STOCK}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


class Person(BaseModel):
    name: str
    age: int
    mood: Literal["happy", "sad"]
    friends: list[str]


@pytest.fixture(scope="module")
def client(reference_server: ServerProcess) -> Iterator[maaskit.Client]:
    with maaskit.Client(base_url=reference_server.v1, api_key=reference_server.api_key) as c:
        yield c


@pytest_asyncio.fixture(loop_scope="function")
async def aclient(reference_server: ServerProcess) -> AsyncIterator[maaskit.AsyncClient]:
    async with maaskit.AsyncClient(
        base_url=reference_server.v1, api_key=reference_server.api_key
    ) as c:
        yield c


@pytest.mark.parametrize("seed", range(3))
def test_required_tool_calls_validate(client: maaskit.Client, seed: int) -> None:
    answer = client.chat(
        model=MODEL, messages=ASK, max_tokens=120, seed=seed, tools=TOOLS, tool_choice="required"
    )

    assert answer.finish_reason == "tool_calls"
    (call,) = answer.tool_calls
    assert call.id
    assert call.type == "function"
    jsonschema.validate(call.function.parsed_arguments(), SCHEMAS[call.function.name])


@pytest.mark.parametrize("seed", range(3))
def test_streamed_tool_calls_are_assembled_and_validate(client: maaskit.Client, seed: int) -> None:
    with client.chat(
        model=MODEL,
        messages=ASK,
        max_tokens=120,
        seed=seed,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_stock"}},
        stream=True,
    ) as stream:
        final = stream.final()

    assert final.finish_reason == "tool_calls"
    (call,) = final.tool_calls
    assert call.function.name == "get_stock"
    assert call.id
    jsonschema.validate(json.loads(call.function.arguments), STOCK)
    assert final.usage is not None
    assert final.usage.completion_tokens > 0
    # The same seed without streaming gives the same call.
    whole = client.chat(
        model=MODEL,
        messages=ASK,
        max_tokens=120,
        seed=seed,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_stock"}},
    )
    assert whole.tool_calls[0].function.arguments == call.function.arguments


def test_a_tool_result_conversation(client: maaskit.Client) -> None:
    first = client.chat(model=MODEL, messages=ASK, max_tokens=120, seed=5, tools=TOOLS)
    (call,) = first.tool_calls
    history: list[Any] = [
        *ASK,
        first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 21}'},
    ]

    second = client.chat(model=MODEL, messages=history, max_tokens=12, seed=5, tools=TOOLS)

    assert second.tool_calls == []
    assert second.text


@pytest.mark.parametrize("seed", range(3))
def test_a_pydantic_response_format_is_parsed(client: maaskit.Client, seed: int) -> None:
    answer = client.chat(
        model=MODEL, messages=ASK, max_tokens=200, seed=seed, response_format=Person
    )

    assert answer.finish_reason == "stop"
    assert isinstance(answer.parsed, Person)
    assert answer.parsed == Person.model_validate_json(answer.text)


async def test_async_streamed_structured_output_and_tool_calls(
    aclient: maaskit.AsyncClient,
) -> None:
    async with aclient.chat(
        model=MODEL, messages=ASK, max_tokens=200, seed=1, response_format=Person, stream=True
    ) as stream:
        texts = [chunk.text async for chunk in stream]
        final = await stream.final()
    assert isinstance(final.parsed, Person)
    assert "".join(texts) == final.text

    tool_stream = await aclient.chat(
        model=MODEL,
        messages=ASK,
        max_tokens=120,
        seed=2,
        tools=TOOLS,
        tool_choice="required",
        stream=True,
    )
    answer = await tool_stream.final()
    (call,) = answer.tool_calls
    jsonschema.validate(call.function.parsed_arguments(), SCHEMAS[call.function.name])


def test_logprobs_and_fingerprint_come_back(client: maaskit.Client) -> None:
    answer = client.chat(model=MODEL, messages=ASK, max_tokens=4, logprobs=True, top_logprobs=2)
    logprobs = answer.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.content is not None
    assert answer.usage is not None
    assert len(logprobs.content) == answer.usage.completion_tokens
    assert all(token.logprob <= 0 for token in logprobs.content)
    assert all(len(token.top_logprobs) == 2 for token in logprobs.content)
    assert "".join(token.token for token in logprobs.content) == answer.text


def test_streamed_logprobs_join_to_the_plain_ones(client: maaskit.Client) -> None:
    kwargs: dict[str, Any] = {"model": MODEL, "messages": ASK, "max_tokens": 6, "seed": 3}
    plain = client.chat(**kwargs, logprobs=True)
    with client.chat(**kwargs, logprobs=True, stream=True) as stream:
        final = stream.final()

    assert final.system_fingerprint == plain.system_fingerprint
    plain_logprobs, streamed_logprobs = plain.choices[0].logprobs, final.choices[0].logprobs
    assert plain_logprobs is not None
    assert streamed_logprobs is not None
    assert plain_logprobs.content is not None
    assert streamed_logprobs.content is not None
    assert [t.token for t in streamed_logprobs.content] == [t.token for t in plain_logprobs.content]
    assert final.text == plain.text
