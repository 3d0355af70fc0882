"""Testing a tool-calling app with scripted answers, as a user would.

    pip install "maaskit[server,testing]" openai
    pytest examples/test_tool_conversation.py

The app below is a small agent loop on the official ``openai`` client: it offers a weather
tool, runs the call the model asks for, sends the result back and returns the final text.
``maaskit_server.answers`` fixes what the "model" says at each turn, so the test drives one
exact conversation through the real server (real routes, real streaming shapes, the model
generating the scripted text token by token) and checks the app's side of it.
"""

from __future__ import annotations

import json
from typing import Any

import openai
from maaskit.testing import MaaSKitServer

MODEL = "tiny-shakespeare"
TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


# -- the app under test ---------------------------------------------------------------------


def get_weather(city: str) -> dict[str, Any]:
    return {"city": city, "sky": "sunny", "celsius": 24}


def ask(client: openai.OpenAI, question: str, calls: list[dict[str, Any]]) -> str:
    """Answer ``question``, running every tool call the model makes (recorded in ``calls``)."""
    messages: list[Any] = [{"role": "user", "content": question}]
    for _ in range(4):  # a bounded agent loop
        reply = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
        message = reply.choices[0].message
        if not message.tool_calls:
            return message.content or ""
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            arguments = json.loads(call.function.arguments)  # type: ignore[union-attr]
            calls.append(arguments)
            result = get_weather(**arguments)
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}
            )
    raise RuntimeError("the model kept calling tools")


# -- the tests ------------------------------------------------------------------------------


def test_two_turn_tool_conversation(maaskit_server: MaaSKitServer) -> None:
    client = openai.OpenAI(base_url=maaskit_server.openai_url, api_key=maaskit_server.api_key)
    maaskit_server.answers.tool_call("get_weather", {"city": "Paris"}, route="/v1/chat/*")
    maaskit_server.answers.text("Sunny in Paris, 24 degrees.", route="/v1/chat/*")
    calls: list[dict[str, Any]] = []
    assert ask(client, "Weather in Paris?", calls) == "Sunny in Paris, 24 degrees."
    assert calls == [{"city": "Paris"}]
    used = [(answer["fired"], answer["remaining"]) for answer in maaskit_server.answers.pending()]
    assert used == [(1, 0), (1, 0)]
    maaskit_server.answers.clear()


def test_without_a_script_the_model_still_follows_the_tool_schema(
    maaskit_server: MaaSKitServer,
) -> None:
    # Unscripted, the server's constrained decoding makes a call (the question came from the
    # user) whose arguments match the schema, then answers text after the tool result.
    client = openai.OpenAI(base_url=maaskit_server.openai_url, api_key=maaskit_server.api_key)
    calls: list[dict[str, Any]] = []
    answer = ask(client, "Weather in Rome?", calls)
    assert len(calls) == 1
    assert isinstance(calls[0]["city"], str)
    assert isinstance(answer, str)
