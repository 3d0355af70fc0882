"""Tool calling through respx answers in the OpenAI API's shapes (validated against the
official ``openai`` types), plain and streamed, and Ollama's native shape."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import maaskit
import openai.types.chat
import pydantic
import respx
from maaskit.privacy import Masker

from . import _openai_shapes as shapes
from ._streams import final_of
from .conftest import BASE_URL, Harness

WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city", "days"],
    "additionalProperties": False,
}
TIME = {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}},
    {"type": "function", "function": {"name": "get_time", "parameters": TIME}},
]
SCHEMAS = {"get_weather": WEATHER, "get_time": TIME}
ASK = [{"role": "user", "content": "Weather in Paris for 3 days, and the time in Tokyo?"}]


def tool_answer() -> dict[str, Any]:
    message = {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            shapes.tool_call("call_w1", "get_weather", {"city": "Paris", "days": 3}),
            shapes.tool_call("call_t2", "get_time", {"zone": "Asia/Tokyo"}),
        ],
    }
    return shapes.chat_completion(shapes.completion_message(message, "tool_calls"))


def test_fixtures_are_openai_shapes() -> None:
    openai.types.chat.ChatCompletion.model_validate(tool_answer())
    for event in streamed():
        openai.types.chat.ChatCompletionChunk.model_validate(event)


def streamed() -> list[dict[str, Any]]:
    return shapes.streamed_tool_calls(
        [
            ("call_w1", "get_weather", json.dumps({"city": "Paris", "days": 3})),
            ("call_t2", "get_time", json.dumps({"zone": "Asia/Tokyo"})),
        ]
    )


async def test_a_tool_call_answer_is_typed(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=tool_answer())
    client = harness.client()

    answer = await harness.call(
        client.chat, model="m", messages=ASK, tools=TOOLS, tool_choice="auto"
    )

    sent = json.loads(route.calls.last.request.content)
    assert sent["tools"] == TOOLS
    assert sent["tool_choice"] == "auto"
    assert answer.finish_reason == "tool_calls"
    assert answer.text == ""
    calls = answer.tool_calls
    assert [(c.id, c.type, c.function.name) for c in calls] == [
        ("call_w1", "function", "get_weather"),
        ("call_t2", "function", "get_time"),
    ]
    assert isinstance(calls[0], maaskit.ToolCall)
    assert calls[0].function.parsed_arguments() == {"city": "Paris", "days": 3}


async def test_tool_results_go_back_in_openai_shape(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        side_effect=[
            httpx.Response(200, json=tool_answer()),
            httpx.Response(
                200,
                json=shapes.chat_completion(
                    shapes.completion_message(
                        {"role": "assistant", "content": "Sunny; 9 pm."}, "stop"
                    )
                ),
            ),
        ]
    )
    client = harness.client()
    first = await harness.call(client.chat, model="m", messages=ASK, tools=TOOLS)
    conversation: list[Any] = [*ASK, first.choices[0].message]
    for call in first.tool_calls:
        conversation.append({"role": "tool", "tool_call_id": call.id, "content": "ok"})

    second = await harness.call(client.chat, model="m", messages=conversation, tools=TOOLS)

    assert second.text == "Sunny; 9 pm."
    sent = json.loads(route.calls.last.request.content)["messages"]
    assert sent[1] == {
        "role": "assistant",
        "tool_calls": tool_answer()["choices"][0]["message"]["tool_calls"],
    }
    assert sent[2:] == [
        {"role": "tool", "tool_call_id": "call_w1", "content": "ok"},
        {"role": "tool", "tool_call_id": "call_t2", "content": "ok"},
    ]
    # Each message sent is one the official client's request type accepts.
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(
        openai.types.chat.ChatCompletionMessageParam
    )
    for message in sent:
        adapter.validate_python(message)


async def test_streamed_tool_calls_are_assembled_by_final(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, content=shapes.sse_of(streamed()))
    client = harness.client()

    stream = await harness.call(client.chat, model="m", messages=ASK, tools=TOOLS, stream=True)
    first = await stream.__anext__() if harness.is_async else next(stream)
    final = await final_of(stream)

    assert first.role == "assistant"
    assert final.finish_reason == "tool_calls"
    assert final.usage is not None
    assert final.usage.total_tokens == shapes.USAGE["total_tokens"]
    assert final.system_fingerprint == shapes.FINGERPRINT
    assert final.choices[0].message.content is None
    calls = final.tool_calls
    assert [(c.id, c.function.name) for c in calls] == [
        ("call_w1", "get_weather"),
        ("call_t2", "get_time"),
    ]
    for call in calls:
        jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])
    assert calls[0].function.parsed_arguments() == {"city": "Paris", "days": 3}


async def test_streamed_chunks_carry_the_tool_call_pieces(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, content=shapes.sse_of(streamed()))
    client = harness.client()

    stream = await harness.call(client.chat, model="m", messages=ASK, tools=TOOLS, stream=True)
    chunks = await harness.collect(stream)

    pieces = [d for c in chunks for d in c.tool_calls]
    assert pieces[0].id == "call_w1"
    assert pieces[0].function is not None
    assert pieces[0].function.name == "get_weather"
    joined = "".join(
        d.function.arguments or "" for d in pieces if d.index == 1 and d.function is not None
    )
    assert json.loads(joined) == {"zone": "Asia/Tokyo"}


async def test_ollama_tool_calls_get_openai_shape_both_ways(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    answer = {
        "model": "llama3.1",
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}}
            ],
        },
        "done": True,
        "done_reason": "stop",
    }
    route = respx_mock.post("http://ollama.test/api/chat").respond(200, json=answer)
    client = harness.client(provider="ollama", base_url="http://ollama.test")

    reply = await harness.call(client.chat, model="llama3.1", messages=ASK, tools=TOOLS)
    (call,) = reply.tool_calls
    assert (call.id, call.function.name) == ("call_0", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Paris", "days": 3}

    conversation: list[Any] = [*ASK, reply.choices[0].message]
    conversation.append({"role": "tool", "tool_call_id": call.id, "content": "sunny"})
    await harness.call(client.chat, model="llama3.1", messages=conversation, tools=TOOLS)
    sent = json.loads(route.calls.last.request.content)
    assert sent["tools"] == TOOLS
    assert sent["messages"][1]["tool_calls"] == [
        {"function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}}
    ]


async def test_ollama_streamed_tool_call(harness: Harness, respx_mock: respx.MockRouter) -> None:
    lines = [
        {
            "model": "llama3.1",
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "get_time", "arguments": {"zone": "UTC"}}}],
            },
            "done": False,
        },
        {
            "model": "llama3.1",
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 5,
            "eval_count": 7,
        },
    ]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    respx_mock.post("http://ollama.test/api/chat").respond(200, content=body)
    client = harness.client(provider="ollama", base_url="http://ollama.test")

    stream = await harness.call(
        client.chat, model="llama3.1", messages=ASK, tools=TOOLS, stream=True
    )
    final = await final_of(stream)

    (call,) = final.tool_calls
    assert call.function.name == "get_time"
    assert json.loads(call.function.arguments) == {"zone": "UTC"}
    assert final.usage is not None
    assert final.usage.completion_tokens == 7


async def test_masking_covers_tool_messages_and_tool_call_arguments(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    email = "ada.lovelace@example.org"
    session = Masker().session()
    placeholder_call = shapes.tool_call("call_m1", "send_mail", {"to": "<EMAIL_1>"})
    answer = shapes.chat_completion(
        shapes.completion_message(
            {"role": "assistant", "content": None, "tool_calls": [placeholder_call]}, "tool_calls"
        )
    )
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=answer)
    client = harness.client(privacy=session)
    ask = [{"role": "user", "content": f"Mail {email} the report"}]

    first = await harness.call(client.chat, model="m", messages=ask, tools=TOOLS)

    assert email not in route.calls.last.request.content.decode()
    # The app gets the real address to run the tool with.
    (call,) = first.tool_calls
    assert json.loads(call.function.arguments) == {"to": email}
    history: list[Any] = [
        *ask,
        first.choices[0].message,
        {"role": "tool", "tool_call_id": call.id, "content": f"sent to {email}"},
    ]
    await harness.call(client.chat, model="m", messages=history, tools=TOOLS)
    sent = route.calls.last.request.content.decode()
    assert email not in sent
    messages = json.loads(sent)["messages"]
    assert json.loads(messages[1]["tool_calls"][0]["function"]["arguments"]) == {"to": "<EMAIL_1>"}
    assert messages[2]["content"] == "sent to <EMAIL_1>"


async def test_masked_streamed_tool_call_arguments_are_restored_by_final(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    email = "ada.lovelace@example.org"
    session = Masker().session()
    client = harness.client(privacy=session)
    ask = [{"role": "user", "content": f"Mail {email} the report"}]
    # The model's arguments use the placeholder it was sent, split across pieces.
    events = shapes.streamed_tool_calls(
        [("call_m1", "send_mail", json.dumps({"to": "<EMAIL_1>"}))], piece=4
    )
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(
        200, content=shapes.sse_of(events)
    )

    stream = await harness.call(client.chat, model="m", messages=ask, tools=TOOLS, stream=True)
    final = await final_of(stream)

    assert email not in route.calls.last.request.content.decode()
    assert json.loads(final.tool_calls[0].function.arguments) == {"to": email}


async def test_tgi_chat_tool_calls_streamed(harness: Harness, respx_mock: respx.MockRouter) -> None:
    # TGI's /v1/chat/completions streams tool calls in OpenAI's shape (and sends no usage
    # chunk unless asked); the hf provider decodes them as the openai one does.
    events = streamed()[:-1]
    respx_mock.post("http://tgi.test/v1/chat/completions").respond(
        200, content=shapes.sse_of(events)
    )
    client = harness.client(provider="hf", base_url="http://tgi.test")

    stream = await harness.call(client.chat, model="tgi", messages=ASK, tools=TOOLS, stream=True)
    final = await final_of(stream)

    assert [c.function.name for c in final.tool_calls] == ["get_weather", "get_time"]
    for call in final.tool_calls:
        jsonschema.validate(call.function.parsed_arguments(), SCHEMAS[call.function.name])


async def test_a_loose_tool_call_shape_is_kept(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    # Arguments as an object and no id (llama.cpp, older Ollama /v1): kept, in OpenAI's types.
    loose = {"type": "function", "function": {"name": "get_time", "arguments": {"zone": "UTC"}}}
    body = shapes.chat_completion(
        shapes.completion_message({"role": "assistant", "tool_calls": [loose]}, "tool_calls")
    )
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=body)
    client = harness.client()

    answer = await harness.call(client.chat, model="m", messages=ASK, tools=TOOLS)

    (call,) = answer.tool_calls
    assert call.id == ""
    assert json.loads(call.function.arguments) == {"zone": "UTC"}
