"""Structured outputs and tool calls through the official ``openai`` client, on a live server.

The tiny model's words are nonsense; what these tests hold the server to is the shape: every
answer parses and validates against the schema it was asked for, streamed or not, whatever
the seed, as vLLM's constrained decoding guarantees.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from _support.server import ServerProcess

pytestmark = pytest.mark.e2e

MODEL = "tiny-shakespeare"
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "mood": {"type": "string", "enum": ["happy", "sad"]},
        "friends": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "age", "mood", "friends"],
    "additionalProperties": False,
}
RESPONSE_FORMAT: Any = {
    "type": "json_schema",
    "json_schema": {"name": "person", "schema": PERSON, "strict": True},
}
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
TOOLS: Any = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "get_stock", "parameters": STOCK}},
]
SCHEMAS = {"get_weather": WEATHER, "get_stock": STOCK}
ASK: Any = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture(scope="module")
def client(reference_server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=reference_server.v1, api_key=reference_server.api_key)


@pytest.mark.parametrize("seed", range(6))
def test_json_schema_answers_validate(client: openai.OpenAI, seed: int) -> None:
    answer = client.chat.completions.create(
        model=MODEL, messages=ASK, max_tokens=180, seed=seed, response_format=RESPONSE_FORMAT
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.content is not None
    jsonschema.validate(json.loads(choice.message.content), PERSON)


@pytest.mark.parametrize("seed", range(6))
def test_streamed_json_schema_answers_validate(client: openai.OpenAI, seed: int) -> None:
    stream = client.chat.completions.create(
        model=MODEL,
        messages=ASK,
        max_tokens=180,
        seed=seed,
        response_format=RESPONSE_FORMAT,
        stream=True,
    )
    parts, reasons = [], []
    for chunk in stream:
        for choice in chunk.choices:
            parts.append(choice.delta.content or "")
            reasons.append(choice.finish_reason)
    assert reasons[-1] == "stop"
    jsonschema.validate(json.loads("".join(parts)), PERSON)
    # The same seed without streaming gives the same document.
    whole = client.chat.completions.create(
        model=MODEL, messages=ASK, max_tokens=180, seed=seed, response_format=RESPONSE_FORMAT
    )
    assert whole.choices[0].message.content == "".join(parts)


def test_openai_parse_helper_gets_a_validated_object(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model=MODEL, messages=ASK, max_tokens=120, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(answer.choices[0].message.content or ""), dict)


@pytest.mark.parametrize("seed", range(6))
def test_required_tool_calls_have_valid_arguments(client: openai.OpenAI, seed: int) -> None:
    answer = client.chat.completions.create(
        model=MODEL, messages=ASK, max_tokens=120, seed=seed, tools=TOOLS, tool_choice="required"
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert len(calls) == 1
    call: Any = calls[0]
    assert call.type == "function"
    assert call.id.startswith("call_")
    jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])


@pytest.mark.parametrize("seed", range(4))
def test_streamed_tool_calls_assemble_into_valid_calls(client: openai.OpenAI, seed: int) -> None:
    stream = client.chat.completions.create(
        model=MODEL,
        messages=ASK,
        max_tokens=120,
        seed=seed,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_stock"}},
        stream=True,
    )
    names, ids, arguments, reasons = [], [], [], []
    for chunk in stream:
        for choice in chunk.choices:
            reasons.append(choice.finish_reason)
            for delta in choice.delta.tool_calls or []:
                assert delta.index == 0
                if delta.id is not None:
                    ids.append(delta.id)
                if delta.function and delta.function.name:
                    names.append(delta.function.name)
                if delta.function and delta.function.arguments:
                    arguments.append(delta.function.arguments)
    assert names == ["get_stock"]
    assert len(ids) == 1
    assert reasons[-1] == "tool_calls"
    jsonschema.validate(json.loads("".join(arguments)), STOCK)


def test_tool_choice_none_is_accepted_and_answers_text(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model=MODEL, messages=ASK, max_tokens=12, seed=3, tools=TOOLS, tool_choice="none"
    )
    choice = answer.choices[0]
    assert choice.message.tool_calls is None
    assert choice.message.content
    assert choice.finish_reason in ("stop", "length")


def test_auto_calls_after_a_question_and_answers_after_a_tool_result(
    client: openai.OpenAI,
) -> None:
    first = client.chat.completions.create(
        model=MODEL, messages=ASK, max_tokens=120, seed=5, tools=TOOLS
    )
    calls = first.choices[0].message.tool_calls
    assert calls
    call: Any = calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    again = client.chat.completions.create(
        model=MODEL, messages=ASK, max_tokens=120, seed=5, tools=TOOLS
    )
    repeats = again.choices[0].message.tool_calls
    assert repeats
    repeat: Any = repeats[0]
    # Deterministic under seed: the same tool and the same arguments (ids are fresh).
    assert (repeat.function.name, repeat.function.arguments) == (
        call.function.name,
        call.function.arguments,
    )
    history: Any = [
        *ASK,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 21}'},
    ]
    second = client.chat.completions.create(
        model=MODEL, messages=history, max_tokens=12, seed=5, tools=TOOLS
    )
    assert second.choices[0].message.tool_calls is None
    assert second.choices[0].message.content


@pytest.mark.parametrize(
    ("extra", "check"),
    [
        ({"guided_regex": r"[0-9]{3}-[0-9]{4}"}, r"^[0-9]{3}-[0-9]{4}$"),
        ({"guided_choice": ["red", "green", "blue"]}, r"^(red|green|blue)$"),
        ({"structured_outputs": {"choice": ["left", "right"]}}, r"^(left|right)$"),
        ({"structured_outputs": {"regex": r"[a-c]{5}"}}, r"^[a-c]{5}$"),
        ({"guided_grammar": 'start: "ab" | "cd" "e"'}, r"^(ab|cde)$"),
    ],
)
def test_vllm_guided_completions(client: openai.OpenAI, extra: Any, check: str) -> None:
    import re

    answer = client.completions.create(
        model=MODEL, prompt="ROMEO:", max_tokens=20, seed=1, extra_body=extra
    )
    assert re.match(check, answer.choices[0].text), answer.choices[0].text
    assert answer.choices[0].finish_reason == "stop"


def test_vllm_guided_json_on_chat(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(
        model=MODEL, messages=ASK, max_tokens=180, extra_body={"guided_json": PERSON}
    )
    jsonschema.validate(json.loads(answer.choices[0].message.content or ""), PERSON)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"response_format": {"type": "xml"}}, "response_format"),
        (
            {"response_format": {"type": "json_schema", "json_schema": 3}},
            "response_format.json_schema",
        ),
        ({"guided_regex": "(unclosed"}, "guided_regex"),
        ({"guided_choice": []}, "guided_choice"),
        ({"guided_regex": "a", "response_format": {"type": "json_object"}}, "response_format"),
        ({"structured_outputs": {"regex": "a", "choice": ["b"]}}, "structured_outputs"),
        ({"tools": TOOLS, "tool_choice": "sometimes"}, "tool_choice"),
        (
            {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice",
        ),
        ({"tool_choice": "required"}, "tool_choice"),
        (
            {"tools": [{"type": "function", "function": {"name": "bad name!"}}]},
            "tools[0].function.name",
        ),
        ({"tools": "get_weather"}, "tools"),
    ],
)
def test_bad_constraints_are_400_naming_the_field(
    reference_server: ServerProcess, body: dict[str, Any], param: str
) -> None:
    response = httpx.post(
        f"{reference_server.v1}/chat/completions",
        headers=reference_server.headers,
        json={"model": MODEL, "messages": ASK, "max_tokens": 8, **body},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
