"""Ollama's ``POST /api/chat`` and ``POST /api/generate`` on the generation engine.

Both stream NDJSON (``application/x-ndjson``) unless ``"stream": false``: one object per new
piece of text, then a last object with ``"done": true``, ``done_reason`` (``stop`` or
``length``), the token counts and the durations in nanoseconds. An error after the stream
began is a line ``{"error": "..."}``. ``/api/generate`` sends the prompt as is (``raw``:
the model is a plain language model); an empty prompt only loads the model, as in Ollama.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ... import metrics
from ..._json import JSONResponse, dumps
from ...errors import bad_request
from ...generation.errors import ChatTemplateError
from ...generation.events import TokenEvent
from ...generation.runtime import GenerationRuntime
from ...openapi import documented
from ...state import get_state
from ..openai._requests import read_json_object
from ..openai_generation._params import chat_messages
from ..openai_generation._run import GenerationFailed, GenerationRun
from ._options import (
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


@documented(
    request={
        "type": "object",
        "required": ["model", "messages"],
        "properties": {
            "model": {"type": "string"},
            "messages": {"type": "array"},
            "stream": {"type": "boolean"},
            "options": {"type": "object"},
        },
    },
    tags=["ollama"],
)
async def chat(request: Request) -> Response:
    """The assistant's reply to a conversation (NDJSON stream unless ``stream: false``)."""
    body = await read_json_object(request)
    name = model_name(body)
    runtime = get_state(request).repository.runtime(name, "text-generation", GenerationRuntime)
    reject_unsupported(body, "tools", "format", "think")
    for index, message in enumerate(body.get("messages") or []):
        if isinstance(message, dict) and message.get("images"):
            raise bad_request(f"messages[{index}].images: this model reads text only")
    messages = chat_messages(body.get("messages"))
    try:
        prompt = runtime.engine.chat_template.render(messages, add_generation_prompt=True)
    except ChatTemplateError as exc:
        raise bad_request(exc.message) from exc

    def piece(text: str) -> dict[str, Any]:
        return {"message": {"role": "assistant", "content": text}}

    return await _answer(request, body, name, runtime, prompt, piece)


@documented(
    request={
        "type": "object",
        "required": ["model"],
        "properties": {
            "model": {"type": "string"},
            "prompt": {"type": "string"},
            "stream": {"type": "boolean"},
            "options": {"type": "object"},
        },
    },
    tags=["ollama"],
)
async def generate(request: Request) -> Response:
    """Continue a prompt (NDJSON stream unless ``stream: false``)."""
    body = await read_json_object(request)
    name = model_name(body)
    runtime = get_state(request).repository.runtime(name, "text-generation", GenerationRuntime)
    reject_unsupported(body, "suffix", "images", "format", "think", "template", "system")
    prompt = body.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise bad_request("prompt must be a string")
    if not prompt:
        # Ollama answers an empty prompt by loading the model and generating nothing.
        done = {"response": "", "done": True, "done_reason": "load"}
        return JSONResponse({"model": listed_name(name), "created_at": created_at(), **done})

    def piece(text: str) -> dict[str, Any]:
        return {"response": text}

    return await _answer(request, body, name, runtime, prompt, piece)


async def _answer(
    request: Request,
    body: dict[str, Any],
    name: str,
    runtime: GenerationRuntime,
    prompt: str,
    piece: Piece,
) -> Response:
    stream = stream_flag(body)
    params = sampling_params(body)
    timer = Timer()
    run = GenerationRun(runtime, [await runtime.encode(prompt)], params)
    metrics.TOKENS.labels(model=name, kind="prompt").inc(run.prompt_tokens)
    if stream:
        lines = _lines(run, name, piece, timer)
        return StreamingResponse(lines, media_type=NDJSON, headers={"Cache-Control": "no-cache"})
    (choice,) = await run.collect(request)
    timer.token()
    metrics.TOKENS.labels(model=name, kind="completion").inc(choice.completion_tokens)
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
            metrics.TOKENS.labels(model=name, kind="completion").inc(event.completion_tokens)
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
