"""Answers in the exact shapes of the OpenAI API, as the official ``openai`` package types them.

Each builder's output is validated against ``openai.types`` in the tests that use it (see
``test_fixtures_are_openai_shapes``), so a field name or nesting invented here would fail.
"""

from __future__ import annotations

import json
from typing import Any

CREATED = 1_733_000_000
FINGERPRINT = "fp_44709d6fcb"
USAGE = {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}


def completion_message(
    message: dict[str, Any], finish_reason: str, logprobs: Any = None, index: int = 0
) -> dict[str, Any]:
    return {
        "index": index,
        "message": message,
        "logprobs": logprobs,
        "finish_reason": finish_reason,
    }


def chat_completion(*choices: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-AbC123",
        "object": "chat.completion",
        "created": CREATED,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": FINGERPRINT,
        "choices": list(choices),
        "usage": USAGE,
    }


def tool_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def chunk(*choices: dict[str, Any], usage: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-AbC123",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": FINGERPRINT,
        "choices": list(choices),
    }
    if usage is not None:
        body["usage"] = usage
    return body


def delta(
    index: int = 0,
    finish_reason: str | None = None,
    logprobs: Any = None,
    **fields: Any,
) -> dict[str, Any]:
    return {"index": index, "delta": fields, "logprobs": logprobs, "finish_reason": finish_reason}


def streamed_tool_calls(calls: list[tuple[str, str, str]], piece: int = 5) -> list[dict[str, Any]]:
    """The chunks OpenAI sends for tool calls ``(id, name, arguments)``: per call one delta
    with id, type, name and empty arguments, then the arguments in small pieces."""
    chunks = [chunk(delta(role="assistant", content=None, refusal=None))]
    for position, (call_id, name, arguments) in enumerate(calls):
        head = {
            "index": position,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        chunks.append(chunk(delta(tool_calls=[head])))
        for start in range(0, len(arguments), piece):
            part = {"index": position, "function": {"arguments": arguments[start : start + piece]}}
            chunks.append(chunk(delta(tool_calls=[part])))
    chunks.append(chunk(delta(finish_reason="tool_calls")))
    chunks.append(chunk(usage=USAGE))
    return chunks


def token_logprob(token: str, logprob: float, alternatives: dict[str, float]) -> dict[str, Any]:
    return {
        "token": token,
        "logprob": logprob,
        "bytes": list(token.encode()),
        "top_logprobs": [
            {"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in alternatives.items()
        ],
    }


def text_completion(*choices: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "cmpl-XyZ789",
        "object": "text_completion",
        "created": CREATED,
        "model": "gpt-3.5-turbo-instruct",
        "system_fingerprint": FINGERPRINT,
        "choices": list(choices),
        "usage": USAGE,
    }


def text_choice(
    text: str, index: int = 0, finish_reason: str | None = "stop", logprobs: Any = None
) -> dict[str, Any]:
    return {"index": index, "text": text, "logprobs": logprobs, "finish_reason": finish_reason}


def sse_of(events: list[dict[str, Any]]) -> bytes:
    body = b"".join(f"data: {json.dumps(event)}\n\n".encode() for event in events)
    return body + b"data: [DONE]\n\n"
