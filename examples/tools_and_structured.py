"""Tool calls and structured output on the async client, streamed.

    python examples/tools_and_structured.py "What is the weather in Paris?"

The model is offered a weather tool; the streamed tool call is assembled by ``final()``, the
tool runs, its result goes back, and the model answers. Then the same question is asked with a
pydantic model as ``response_format`` and the answer comes back as a validated instance.

Settings: MAASKIT_BASE_URL (default http://127.0.0.1:8000/v1), MAASKIT_API_KEY (optional),
MAASKIT_CHAT_MODEL or --model (default tiny-shakespeare).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import maaskit
from pydantic import BaseModel, Field

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    }
]


class Forecast(BaseModel):
    # Bounds keep a small model's answer short enough to finish within max_tokens.
    city: str = Field(max_length=32)
    celsius: int = Field(ge=-60, le=60)


def get_weather(city: str) -> dict[str, Any]:
    return {"city": city, "sky": "sunny", "celsius": 24}


async def run(client: maaskit.AsyncClient, model: str, question: str) -> None:
    messages: list[Any] = [{"role": "user", "content": question}]
    async with client.chat(
        model=model, messages=messages, tools=TOOLS, tool_choice="required", seed=7, stream=True
    ) as stream:
        answer = await stream.final()  # the streamed pieces, joined into whole tool calls
    messages.append(answer.choices[0].message)
    for call in answer.tool_calls:
        arguments = call.function.parsed_arguments()
        print(f"tool call: {call.function.name}({json.dumps(arguments)})")
        result = get_weather(**arguments)
        messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
    reply = await client.chat(model=model, messages=messages, tools=TOOLS, max_tokens=24, seed=7)
    print(f"answer: {reply.text!r}")

    forecast = await client.chat(
        model=model, messages=messages[:1], response_format=Forecast, max_tokens=200, seed=7
    )
    parsed: Forecast = forecast.parsed
    print(f"structured: city={parsed.city!r} celsius={parsed.celsius}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", default="What is the weather in Paris?")
    parser.add_argument("--model", default=os.environ.get("MAASKIT_CHAT_MODEL", "tiny-shakespeare"))
    args = parser.parse_args(argv)

    async def go() -> None:
        async with maaskit.AsyncClient(
            base_url=os.environ.get("MAASKIT_BASE_URL", DEFAULT_BASE_URL),
            api_key=os.environ.get("MAASKIT_API_KEY"),
        ) as client:
            await run(client, args.model, args.question)

    try:
        asyncio.run(go())
    except maaskit.MaaSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
