"""``POST /v1/chat/completions``: messages rendered with the model's chat template, generated."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from ..._json import JSONResponse
from ...errors import bad_request
from ...faults import take_answer
from ...generation.errors import ChatTemplateError
from ...generation.events import TokenEvent
from ...generation.sampling import SampledToken
from ...generation.tools import CallStream, split_call
from ...openapi import documented
from ...runtimes.generation import GenerationRuntime
from ...state import get_state
from ..generation_run import GenerationFailed, GenerationRun, usage
from ..requests import chat_messages, read_json_object, required_string
from . import _fields, _params, _structured
from ._format import (
    SSE_DONE,
    ChunkEncoder,
    chat_logprobs,
    final_write,
    new_id,
    now,
    sse_error,
    usage_chunk,
)

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string"},
        "messages": {"type": "array", "minItems": 1},
        "max_tokens": {"type": "integer", "minimum": 1},
        "max_completion_tokens": {"type": "integer", "minimum": 1},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "top_p": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "top_k": {"type": "integer"},
        "seed": {"type": "integer"},
        "stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "frequency_penalty": {"type": "number", "minimum": -2, "maximum": 2},
        "presence_penalty": {"type": "number", "minimum": -2, "maximum": 2},
        "logprobs": {"type": "boolean"},
        "top_logprobs": {"type": "integer", "minimum": 0, "maximum": 20},
        "n": {"type": "integer", "minimum": 1},
        "ignore_eos": {"type": "boolean"},
        "stream": {"type": "boolean"},
        "stream_options": {"type": "object"},
        "response_format": {"type": "object"},
        "tools": {"type": "array"},
        "tool_choice": {"oneOf": [{"type": "string"}, {"type": "object"}]},
    },
}

# The documented body, also TGI's Messages API route's (hf), which reads the same fields.
CHAT_REQUEST_SCHEMA = _fields.request_schema(REQUEST_SCHEMA, chat=True)


@documented(
    request=CHAT_REQUEST_SCHEMA,
    response={"type": "object"},
    tags=["openai"],
)
async def create_chat_completion(request: Request) -> Response:
    """Generate the assistant's reply to a conversation (optionally streamed as SSE)."""
    state = get_state(request)
    body = await read_json_object(request)
    _fields.check_fields(body, chat=True)
    model = required_string(body, "model")
    messages = chat_messages(body.get("messages"))
    runtime = state.repository.runtime(model, GenerationRuntime)
    _params.reject_unsupported(body)
    params = _params.sampling_params(body, chat=True)
    constraints = _structured.constraints(body, lambda: runtime.engine.grammars, messages=messages)
    answer = take_answer(request, model)
    if answer is not None:
        constraints = _structured.scripted(constraints, answer, runtime.engine.grammars)
    params = dataclasses.replace(params, grammar=constraints.grammar)
    stream = _params.stream_options(body)
    try:
        prompt = runtime.engine.chat_template.render(messages, add_generation_prompt=True)
    except ChatTemplateError as exc:
        raise bad_request(exc.message, param="messages", code="chat_template_error") from exc
    prompt_ids = await runtime.encode(prompt)
    run = GenerationRun(runtime, [prompt_ids], params)
    if stream.stream:
        events = _stream(
            run,
            runtime,
            model,
            params.logprobs,
            stream.include_usage,
            continuous_usage=stream.continuous_usage,
            tool_call=constraints.calls_tool,
        )
        return StreamingResponse(
            events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
    choices = await run.collect(request)
    completion_tokens = sum(choice.completion_tokens for choice in choices)
    return JSONResponse(
        {
            "id": new_id("chatcmpl"),
            "object": "chat.completion",
            "created": now(),
            "model": model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": choice.index,
                    "message": _message(choice.text, constraints.calls_tool),
                    "logprobs": (
                        chat_logprobs(choice.tokens, runtime.token_text)
                        if params.logprobs
                        else None
                    ),
                    "finish_reason": _finish_reason(choice.finish_reason, constraints.calls_tool),
                }
                for choice in choices
            ],
            "usage": usage(run.prompt_tokens, completion_tokens),
        }
    )


def _message(text: str, tool_call: bool) -> dict[str, Any]:
    if not tool_call:
        return {"role": "assistant", "content": text, "refusal": None}
    call = split_call(text)
    return {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
        ],
    }


def _finish_reason(reason: str | None, tool_call: bool) -> str | None:
    # A call that ran out of tokens stays "length": its arguments are cut off.
    return "tool_calls" if tool_call and reason == "stop" else reason


_CONTENT = b',"delta":{"content":'
_NO_LOGPROBS_NO_FINISH = b'},"logprobs":null,"finish_reason":null}]'


async def _stream(
    run: GenerationRun,
    runtime: GenerationRuntime,
    model: str,
    logprobs: bool,
    include_usage: bool,
    *,
    continuous_usage: bool = False,
    tool_call: bool = False,
) -> AsyncIterator[bytes]:
    base = {
        "id": new_id("chatcmpl"),
        "object": "chat.completion.chunk",
        "created": now(),
        "model": model,
        "system_fingerprint": None,
    }
    encoder = ChunkEncoder(base, include_usage, run.prompt_tokens if continuous_usage else None)

    def chunk(
        index: int, delta: dict[str, Any], finish: str | None, tokens: list[SampledToken]
    ) -> bytes:
        choice = {
            "index": index,
            "delta": delta,
            "logprobs": chat_logprobs(tokens, runtime.token_text) if logprobs and tokens else None,
            "finish_reason": finish,
        }
        return encoder.choice(choice)

    calls = {index: CallStream() for index in range(run.choice_count)} if tool_call else {}

    def content(index: int, text: str, tokens: list[SampledToken]) -> bytes:
        if tool_call:
            return call_delta(index, text, tokens)
        if logprobs and tokens:
            return chunk(index, {"content": text}, None, tokens)
        return encoder.text(index, _CONTENT, text, _NO_LOGPROBS_NO_FINISH)

    def call_delta(index: int, text: str, tokens: list[SampledToken]) -> bytes:
        # OpenAI's shape: the first delta of a call has its id and name, later ones add text
        # to its arguments. Until the name is complete there is nothing to send.
        started, arguments = calls[index].feed(text)
        delta: dict[str, Any] = {"index": 0, "function": {"arguments": arguments}}
        if started is not None:
            delta = {
                "index": 0,
                "id": started.id,
                "type": "function",
                "function": {"name": started.name, "arguments": arguments},
            }
        elif not arguments:
            return b""
        return chunk(index, {"tool_calls": [delta]}, None, tokens)

    pending: dict[int, list[SampledToken]] = {}
    completion_tokens = 0
    unfinished = run.choice_count
    try:
        for index in range(run.choice_count):
            yield chunk(index, {"role": "assistant", "content": ""}, None, [])
        async for batch in run.batches():
            out: list[bytes] = []
            for event in batch:
                held = pending.setdefault(event.index, [])
                if isinstance(event, TokenEvent):
                    held.append(event.token)
                    encoder.count(event.index)
                    if event.text:
                        out.append(content(event.index, event.text, held))
                        held.clear()
                    continue
                encoder.count(event.index, total=event.completion_tokens)
                if event.text or held:
                    out.append(content(event.index, event.text, held))
                    held.clear()
                completion_tokens += event.completion_tokens
                unfinished -= 1
                out.append(chunk(event.index, {}, _finish_reason(event.reason, tool_call), []))
            out = [piece for piece in out if piece]
            if unfinished == 0:
                usage_base = base if include_usage else None
                yield final_write(out, usage_base, run.prompt_tokens, completion_tokens)
                return
            if out:
                # The events that arrived together go out in one write.
                yield b"".join(out)
        if include_usage:
            yield usage_chunk(base, run.prompt_tokens, completion_tokens)
    except GenerationFailed as exc:
        yield sse_error(str(exc))
    finally:
        # Also runs when the client disconnects (the response task is cancelled).
        run.cancel()
    yield SSE_DONE


def routes() -> list[BaseRoute]:
    return [Route("/v1/chat/completions", create_chat_completion, methods=["POST"])]
