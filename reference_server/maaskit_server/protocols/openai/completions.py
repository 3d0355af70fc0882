"""``POST /v1/completions``: the legacy text completion API, one or several prompts."""

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
from ...generation.events import TokenEvent
from ...generation.sampling import SampledToken
from ...openapi import documented
from ...runtimes.generation import GenerationRuntime
from ...state import get_state
from ..generation_run import GenerationFailed, GenerationRun, usage
from ..requests import read_json_object, required_string, text_inputs
from . import _fields, _params, _structured
from ._format import (
    SSE_DONE,
    ChunkEncoder,
    completion_logprobs,
    final_write,
    new_id,
    now,
    sse_error,
    usage_chunk,
)

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["model", "prompt"],
    "properties": {
        "model": {"type": "string"},
        "prompt": {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
                {"type": "array", "items": {"type": "integer"}},
                {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
            ]
        },
        "max_tokens": {"type": "integer", "minimum": 1},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "top_p": {"type": "number"},
        "seed": {"type": "integer"},
        "stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "logprobs": {"type": "integer", "minimum": 0, "maximum": 5},
        "echo": {"type": "boolean"},
        "n": {"type": "integer", "minimum": 1},
        "ignore_eos": {"type": "boolean"},
        "stream": {"type": "boolean"},
        "stream_options": {"type": "object"},
        "response_format": {"type": "object"},
    },
}


# The route refuses echo: true with logprobs (any integer, 0 too: it asks for logprobs).
_NOT_ECHO_WITH_LOGPROBS: dict[str, Any] = {
    "required": ["echo", "logprobs"],
    "properties": {"echo": {"const": True}, "logprobs": {"type": "integer"}},
}
COMPLETION_REQUEST_SCHEMA: dict[str, Any] = {
    **_fields.request_schema(REQUEST_SCHEMA, chat=False),
    "not": _NOT_ECHO_WITH_LOGPROBS,
}


@documented(
    request=COMPLETION_REQUEST_SCHEMA,
    response={"type": "object"},
    tags=["openai"],
)
async def create_completion(request: Request) -> Response:
    """Continue one or several prompts (optionally streamed as SSE)."""
    state = get_state(request)
    body = await read_json_object(request)
    _fields.check_fields(body, chat=False)
    model = required_string(body, "model")
    inputs = text_inputs(
        body.get("prompt"), max_inputs=state.settings.max_inputs_per_request, param="prompt"
    )
    runtime = state.repository.runtime(model, GenerationRuntime)
    _params.reject_unsupported(body)
    params = _params.sampling_params(body, chat=False)
    grammar = _structured.constraints(body, lambda: runtime.engine.grammars).grammar
    answer = take_answer(request, model)
    if answer is not None:
        grammar = answer.grammar()  # a scripted tool call is plain text here
    params = dataclasses.replace(params, grammar=grammar)
    stream = _params.stream_options(body)
    echo = _params.boolean(body, "echo")
    if echo and params.logprobs:
        raise bad_request("'echo' together with 'logprobs' is not supported.", param="echo")
    prompts = [await _prompt_ids(runtime, item) for item in inputs]
    run = GenerationRun(runtime, prompts, params)
    echoes = [runtime.engine.decode(p) if echo else "" for p in prompts for _ in range(params.n)]
    if stream.stream:
        events = _stream(
            run,
            runtime,
            model,
            params.logprobs,
            stream.include_usage,
            echoes,
            continuous_usage=stream.continuous_usage,
        )
        return StreamingResponse(
            events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
    choices = await run.collect(request)
    completion_tokens = sum(choice.completion_tokens for choice in choices)
    return JSONResponse(
        {
            "id": new_id("cmpl"),
            "object": "text_completion",
            "created": now(),
            "model": model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": choice.index,
                    "text": echoes[choice.index] + choice.text,
                    "logprobs": (
                        completion_logprobs(choice.tokens, runtime.token_text, 0)
                        if params.logprobs
                        else None
                    ),
                    "finish_reason": choice.finish_reason,
                }
                for choice in choices
            ],
            "usage": usage(run.prompt_tokens, completion_tokens),
        }
    )


async def _prompt_ids(runtime: GenerationRuntime, item: str | list[int]) -> list[int]:
    if isinstance(item, str):
        return await runtime.encode(item)
    vocab = runtime.engine.tokenizer.get_vocab_size(with_added_tokens=True)
    if any(not 0 <= token < vocab for token in item):
        message = f"'prompt' has token ids outside this model's vocabulary (0..{vocab - 1})."
        raise bad_request(message, param="prompt", code="invalid_token_id")
    return list(item)


_TEXT = b',"text":'
_NO_LOGPROBS_NO_FINISH = b',"logprobs":null,"finish_reason":null}]'


async def _stream(
    run: GenerationRun,
    runtime: GenerationRuntime,
    model: str,
    logprobs: bool,
    include_usage: bool,
    echoes: list[str],
    *,
    continuous_usage: bool = False,
) -> AsyncIterator[bytes]:
    base = {"id": new_id("cmpl"), "object": "text_completion", "created": now(), "model": model}
    encoder = ChunkEncoder(base, include_usage, run.prompt_tokens if continuous_usage else None)
    offsets = [0] * run.choice_count

    def chunk(index: int, text: str, finish: str | None, tokens: list[SampledToken]) -> bytes:
        if finish is None and not (logprobs and tokens):
            offsets[index] += len(text)
            return encoder.text(index, _TEXT, text, _NO_LOGPROBS_NO_FINISH)
        described = None
        if logprobs and tokens:
            described = completion_logprobs(tokens, runtime.token_text, offsets[index])
        offsets[index] += len(text)
        choice = {"index": index, "text": text, "logprobs": described, "finish_reason": finish}
        return encoder.choice(choice)

    pending: dict[int, list[SampledToken]] = {}
    completion_tokens = 0
    unfinished = run.choice_count
    try:
        for index, echo in enumerate(echoes):
            if echo:
                yield chunk(index, echo, None, [])
        async for batch in run.batches():
            out: list[bytes] = []
            for event in batch:
                held = pending.setdefault(event.index, [])
                if isinstance(event, TokenEvent):
                    held.append(event.token)
                    encoder.count(event.index)
                    if event.text:
                        out.append(chunk(event.index, event.text, None, held))
                        held.clear()
                    continue
                encoder.count(event.index, total=event.completion_tokens)
                completion_tokens += event.completion_tokens
                unfinished -= 1
                out.append(chunk(event.index, event.text, event.reason, held))
                held.clear()
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
        run.cancel()
    yield SSE_DONE


def routes() -> list[BaseRoute]:
    return [Route("/v1/completions", create_completion, methods=["POST"])]
