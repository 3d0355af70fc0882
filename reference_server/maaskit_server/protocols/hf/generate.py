"""TGI's generation: ``POST /models/{name}/generate``, ``/generate_stream``, and the endpoint
root (``POST /models/{name}`` with ``"stream"``) that ``InferenceClient.text_generation`` and
``text_generation.Client`` call.

``/generate`` answers an object ``{"generated_text", "details"?}``, the root a list of one.
``details`` (when asked): ``finish_reason`` (``length``, ``eos_token``, ``stop_sequence``),
``generated_tokens``, ``seed``, ``prefill`` (prompt tokens when ``decoder_input_details``)
and ``tokens`` (``id``, ``text``, ``logprob``, ``special``). Streams are SSE events
``{"token", "generated_text", "details"}``, the text and details on the last one; an error
after the stream began is an event ``{"error", "error_type": "generation"}``. As in TGI, a
stop sequence that ended the generation is the end of the text (the OpenAI routes leave it
out); unlike TGI, which only stops when the text ends with it, the engine finds it anywhere and
drops what followed it in the same token.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..._json import JSONResponse, dumps
from ...faults import scripted_grammar
from ...generation.errors import ContextLengthError, InvalidParameterError
from ...generation.events import FinishEvent, TokenEvent
from ...generation.sampling import SampledToken
from ...openapi import documented
from ...runtimes.generation import GenerationRuntime
from ...state import get_state
from ..generation_run import GenerationFailed, GenerationRun
from ..requests import read_json_object
from ._tgi import (
    DEFAULT_MAX_NEW_TOKENS,
    PARAMETERS_SCHEMA,
    TGIRequest,
    tgi_request,
    validation_error,
)

GENERATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "inputs": {"type": "string", "minLength": 1},  # tgi_request refuses an empty one
        "parameters": PARAMETERS_SCHEMA,
        "stream": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
    },
}


@dataclass
class _Started:
    model: str
    runtime: GenerationRuntime
    tgi: TGIRequest
    prompt_ids: list[int]
    run: GenerationRun

    def token(self, token: SampledToken) -> dict[str, Any]:
        special = token.token_id in self.runtime.engine.eos_token_ids
        return {
            "id": token.token_id,
            "text": self.runtime.token_text.token_str(token.token_id),
            "logprob": token.logprob,
            "special": special,
        }

    def finish_reason(self, reason: str, last: SampledToken | None) -> str:
        if reason == "length":
            return "length"
        if last is not None and last.token_id in self.runtime.engine.eos_token_ids:
            return "eos_token"
        return "stop_sequence"

    def full_text(self, generated: str) -> str:
        return self.tgi.prompt + generated if self.tgi.return_full_text else generated

    def headers(self, generated_tokens: int) -> dict[str, str]:
        return {
            "x-prompt-tokens": str(len(self.prompt_ids)),
            "x-generated-tokens": str(generated_tokens),
        }


async def _start(request: Request, model: str, body: dict[str, Any]) -> _Started:
    runtime = get_state(request).repository.runtime(model, GenerationRuntime)
    tgi = tgi_request(body, max_new_tokens_default=DEFAULT_MAX_NEW_TOKENS)
    if tgi.params.grammar is not None:
        try:
            runtime.engine.grammars.check(tgi.params.grammar, "grammar")
        except InvalidParameterError as exc:
            raise validation_error(exc.message) from exc
    prompt_ids = await runtime.encode(tgi.prompt)
    if tgi.truncate is not None:
        prompt_ids = prompt_ids[-tgi.truncate :]
    if not prompt_ids:
        raise validation_error("`inputs` encodes to no tokens.")
    # A scripted answer (test servers only, --enable-faults) becomes the grammar.
    params = dataclasses.replace(
        tgi.params, grammar=scripted_grammar(request, model, tgi.params.grammar)
    )
    explicit = (body.get("parameters") or {}).get("max_new_tokens")
    room = runtime.max_context_tokens - len(prompt_ids)
    if explicit is None and params.max_tokens is not None and room >= 1:
        # An unset max_new_tokens is TGI's default, capped by what the context leaves.
        params = dataclasses.replace(params, max_tokens=min(params.max_tokens, room))
    try:
        runtime.engine.max_new_tokens(len(prompt_ids), params.max_tokens)
    except ContextLengthError as exc:
        raise validation_error(exc.message) from exc
    run = GenerationRun(runtime, [prompt_ids], params)
    return _Started(model, runtime, tgi, prompt_ids, run)


async def generate_response(request: Request, model: str, body: dict[str, Any]) -> Response:
    """The root route's non-streaming answer (a list) or its SSE stream."""
    started = await _start(request, model, body)
    if body.get("stream"):
        return _sse(started)
    payload, headers = await _collect(request, started)
    return JSONResponse([payload], headers=headers)


@documented(request=GENERATE_SCHEMA, response={"type": "object"}, tags=["hf"])
async def generate(request: Request) -> Response:
    """TGI ``/generate``: one generation with optional details."""
    body = await read_json_object(request)
    started = await _start(request, str(request.path_params["model"]), body)
    payload, headers = await _collect(request, started)
    return JSONResponse(payload, headers=headers)


@documented(request=GENERATE_SCHEMA, tags=["hf"])
async def generate_stream(request: Request) -> Response:
    """TGI ``/generate_stream``: SSE token events, the full text and details at the end."""
    body = await read_json_object(request)
    return _sse(await _start(request, str(request.path_params["model"]), body))


async def _collect(request: Request, started: _Started) -> tuple[dict[str, Any], dict[str, str]]:
    (choice,) = await started.run.collect(request)
    payload: dict[str, Any] = {"generated_text": started.full_text(choice.text + choice.stop)}
    if started.tgi.details:
        last = choice.tokens[-1] if choice.tokens else None
        payload["details"] = {
            "finish_reason": started.finish_reason(choice.finish_reason or "length", last),
            "generated_tokens": choice.completion_tokens,
            "seed": started.tgi.sampled_seed,
            "prefill": _prefill(started),
            "tokens": [started.token(token) for token in choice.tokens],
        }
    return payload, started.headers(choice.completion_tokens)


def _prefill(started: _Started) -> list[dict[str, Any]]:
    if not started.tgi.decoder_input_details:
        return []
    text = started.runtime.token_text
    # Prompt log-probabilities are not computed by the engine: null, as TGI's first token.
    return [{"id": i, "text": text.token_str(i), "logprob": None} for i in started.prompt_ids]


def _sse(started: _Started) -> StreamingResponse:
    return StreamingResponse(
        _events(started),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", **started.headers(0)},
    )


def _event(payload: dict[str, Any]) -> bytes:
    return b"data: " + dumps(payload) + b"\n\n"


async def _events(started: _Started) -> AsyncIterator[bytes]:
    # Events lag one token: only the finish event tells which token is the last, and the last
    # one carries the text the engine held back, the full text and the details.
    held: list[tuple[dict[str, Any], SampledToken]] = []
    text = ""
    try:
        async for event in started.run.events():
            if isinstance(event, TokenEvent):
                token = started.token(event.token)
                if not token["special"]:
                    token["text"] = event.text
                    text += event.text
                    for earlier, _ in held:
                        yield _event({"token": earlier, "generated_text": None, "details": None})
                    held.clear()
                held.append((token, event.token))
                continue
            yield _last(started, held, event, text + event.text + event.stop)
    except GenerationFailed as exc:
        yield _event({"error": str(exc), "error_type": "generation"})
    finally:
        started.run.cancel()


def _last(
    started: _Started,
    held: list[tuple[dict[str, Any], SampledToken]],
    event: FinishEvent,
    text: str,
) -> bytes:
    plain = [token for token, _ in held if not token["special"]]
    if (event.text or event.stop) and plain:
        # Text the engine held back (a partial stop sequence, an unfinished character) and the
        # stop sequence itself belong to the last plain token; without one nothing was
        # generated that could be held.
        plain[-1]["text"] += event.text + event.stop
    details = None
    if started.tgi.details:
        details = {
            "finish_reason": started.finish_reason(event.reason, held[-1][1] if held else None),
            "generated_tokens": event.completion_tokens,
            "seed": started.tgi.sampled_seed,
        }
    chunks = [
        _event({"token": token, "generated_text": None, "details": None}) for token, _ in held[:-1]
    ]
    final = {"token": held[-1][0] if held else {}, "generated_text": started.full_text(text)}
    chunks.append(_event({**final, "details": details}))
    return b"".join(chunks)
