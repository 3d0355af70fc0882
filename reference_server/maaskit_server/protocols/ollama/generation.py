"""Ollama's ``POST /api/chat`` and ``POST /api/generate`` on the generation engine.

Both stream NDJSON (``application/x-ndjson``) unless ``"stream": false``: one object per new
piece of text, then a last object with ``"done": true``, ``done_reason`` (``stop`` or
``length``), the token counts and the durations in nanoseconds. An error after the stream
began is a line ``{"error": "..."}``. ``/api/generate`` sends the prompt as is (``raw``:
the model is a plain language model); an empty prompt only loads the model, as in Ollama.

``format`` (``"json"`` or a JSON schema) constrains the answer; ``tools`` on ``/api/chat`` are
called by the rule of :mod:`maaskit_server.generation.tools` (Ollama has no ``tool_choice``:
it is ``auto``), and a call arrives whole in one message, as Ollama sends it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..._json import JSONResponse, dumps
from ...errors import bad_request
from ...faults import take_answer
from ...generation.errors import ChatTemplateError, InvalidParameterError
from ...generation.events import TokenEvent
from ...generation.grammar import Grammar
from ...generation.tools import last_role, parse_tools, plan_tools, split_call
from ...openapi import documented
from ...runtimes.generation import GenerationRuntime
from ...state import get_state
from ..generation_run import GenerationFailed, GenerationRun
from ..requests import CHAT_ROLES, chat_messages, read_json_object
from ._options import (
    OPTIONS_SCHEMA,
    Timer,
    created_at,
    listed_name,
    model_name,
    reject_unsupported,
    sampling_params,
    stream_flag,
)

NDJSON = "application/x-ndjson"
# What one piece of text looks like in each route's answer.
Piece = Callable[[str], dict[str, Any]]

# Null is "not sent" (stream_flag: streamed).
_STREAM_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "boolean"}, {"type": "null"}]}
# What chat_messages checks (the OpenAI routes' reader), without images: this model reads
# text only. An assistant turn may come without content (it only carried tool calls).
_NO_IMAGES = {"anyOf": [{"type": "array", "maxItems": 0}, {"type": "null"}]}
_TEXT_PART = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
}
_CONTENT: list[dict[str, Any]] = [{"type": "string"}, {"type": "array", "items": _TEXT_PART}]
_MESSAGES_SCHEMA: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "items": {
        "anyOf": [
            {
                "type": "object",
                "required": ["role"],
                "properties": {
                    "role": {"const": "assistant"},
                    "content": {"anyOf": [*_CONTENT, {"type": "null"}]},
                    "images": _NO_IMAGES,
                },
            },
            {
                "type": "object",
                "required": ["role", "content"],
                "properties": {
                    "role": {"enum": sorted(CHAT_ROLES - {"assistant"})},
                    "content": {"anyOf": _CONTENT},
                    "images": _NO_IMAGES,
                },
            },
        ]
    },
}


@documented(
    request={
        "type": "object",
        "required": ["model", "messages"],
        "properties": {
            "model": {"type": "string"},
            "messages": _MESSAGES_SCHEMA,
            "stream": _STREAM_SCHEMA,
            "options": OPTIONS_SCHEMA,
        },
    },
    tags=["ollama"],
)
async def chat(request: Request) -> Response:
    """The assistant's reply to a conversation (NDJSON stream unless ``stream: false``)."""
    body = await read_json_object(request)
    name = model_name(body)
    runtime = get_state(request).repository.runtime(name, GenerationRuntime)
    reject_unsupported(body, "think")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list):
        raise bad_request("messages must be a list of message objects", param="messages")
    for index, message in enumerate(raw_messages):
        # Only null or [] mean "no images" (as documented): "" or 0 are not a list of them.
        if isinstance(message, dict) and message.get("images") not in (None, []):
            raise bad_request(f"messages[{index}].images: this model reads text only")
    messages = chat_messages(raw_messages)
    try:
        prompt = runtime.engine.chat_template.render(messages, add_generation_prompt=True)
    except ChatTemplateError as exc:
        raise bad_request(exc.message) from exc

    try:
        plan = plan_tools(parse_tools(body.get("tools")), None)
    except InvalidParameterError as exc:
        raise bad_request(exc.message) from exc
    call_grammar = plan.grammar(last_role(messages))
    scripted = take_answer(request, name)  # test servers only (--enable-faults)
    if scripted is not None:
        call_grammar = scripted.grammar() if scripted.tool_call else None

    def piece(text: str) -> dict[str, Any]:
        return {"message": {"role": "assistant", "content": text}}

    if call_grammar is not None:
        return await _answer(
            request, body, name, runtime, prompt, _call_piece, call_grammar, whole=True
        )
    grammar = None if scripted is None else scripted.grammar()
    return await _answer(request, body, name, runtime, prompt, piece, grammar)


def _call_piece(text: str) -> dict[str, Any]:
    call = split_call(text)
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        arguments = call.arguments  # cut off by num_predict: passed on as it is
    message = {"role": "assistant", "content": ""}
    return {
        "message": {
            **message,
            "tool_calls": [{"function": {"name": call.name, "arguments": arguments}}],
        }
    }


@documented(
    request={
        "type": "object",
        "required": ["model"],
        "properties": {
            "model": {"type": "string"},
            "prompt": {"type": "string"},
            "stream": _STREAM_SCHEMA,
            "options": OPTIONS_SCHEMA,
        },
    },
    tags=["ollama"],
)
async def generate(request: Request) -> Response:
    """Continue a prompt (NDJSON stream unless ``stream: false``)."""
    body = await read_json_object(request)
    name = model_name(body)
    runtime = get_state(request).repository.runtime(name, GenerationRuntime)
    reject_unsupported(body, "suffix", "images", "think", "template", "system")
    prompt = body.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise bad_request("prompt must be a string")
    if not prompt:
        # Ollama answers an empty prompt by loading the model and generating nothing.
        done = {"response": "", "done": True, "done_reason": "load"}
        return JSONResponse({"model": listed_name(name), "created_at": created_at(), **done})

    def piece(text: str) -> dict[str, Any]:
        return {"response": text}

    scripted = take_answer(request, name)  # test servers only (--enable-faults)
    grammar = None if scripted is None else scripted.grammar()
    return await _answer(request, body, name, runtime, prompt, piece, grammar)


async def _answer(
    request: Request,
    body: dict[str, Any],
    name: str,
    runtime: GenerationRuntime,
    prompt: str,
    piece: Piece,
    grammar: Grammar | None = None,
    *,
    whole: bool = False,
) -> Response:
    """``grammar`` (a tool call's, a scripted answer's) takes the place of ``format``."""
    stream = stream_flag(body)
    params = sampling_params(body)
    grammar = grammar or _format(body.get("format"))
    if grammar is not None:
        try:
            runtime.engine.grammars.check(grammar, "format")
        except InvalidParameterError as exc:
            raise bad_request(exc.message) from exc
        params = dataclasses.replace(params, grammar=grammar)
    # A tool call is sent whole (Ollama's way), so even a streamed one is collected first.
    stream = stream and not whole
    timer = Timer()
    run = GenerationRun(runtime, [await runtime.encode(prompt)], params)
    if stream:
        lines = _lines(run, name, piece, timer)
        return StreamingResponse(lines, media_type=NDJSON, headers={"Cache-Control": "no-cache"})
    (choice,) = await run.collect(request)
    timer.token()
    return JSONResponse(
        {
            "model": listed_name(name),
            "created_at": created_at(),
            **piece(choice.text),
            "done": True,
            "done_reason": choice.finish_reason,
            **timer.counters(run.prompt_tokens, choice.completion_tokens),
        }
    )


async def _lines(run: GenerationRun, name: str, piece: Piece, timer: Timer) -> AsyncIterator[bytes]:
    def line(payload: dict[str, Any]) -> bytes:
        return dumps(payload) + b"\n"

    model = listed_name(name)
    try:
        async for event in run.events():
            timer.token()
            if isinstance(event, TokenEvent):
                if event.text:
                    yield line(
                        {
                            "model": model,
                            "created_at": created_at(),
                            **piece(event.text),
                            "done": False,
                        }
                    )
                continue
            if event.text:
                yield line(
                    {"model": model, "created_at": created_at(), **piece(event.text), "done": False}
                )
            yield line(
                {
                    "model": model,
                    "created_at": created_at(),
                    **piece(""),
                    "done": True,
                    "done_reason": event.reason,
                    **timer.counters(run.prompt_tokens, event.completion_tokens),
                }
            )
    except GenerationFailed as exc:
        yield line({"error": str(exc)})
    finally:
        run.cancel()


def _format(value: Any) -> Grammar | None:
    """Ollama's ``format``: ``"json"`` for any JSON object, or a JSON schema."""
    if value is None or value == "":
        return None
    try:
        if value == "json":
            return Grammar.json_object()
        return Grammar.json_schema(value, param="format")
    except InvalidParameterError as exc:
        raise bad_request('format must be "json" or a JSON schema object') from exc
