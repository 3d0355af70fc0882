"""Triton's generate extension: ``POST /v2/models/{m}[/versions/{v}]/generate[_stream]``.

The body is ``{"text_input": "...", "parameters": {...}}``; as Triton's TensorRT-LLM examples
do, sampling keys are also accepted at the top level. Parameters follow vLLM's names
(``max_tokens`` (default 16, vLLM's; or OpenAI's ``max_completion_tokens``, which LiteLLM
passes on), ``temperature``, ``top_p``, ``top_k``, ``seed``, ``stop``, ``ignore_eos``,
``frequency_penalty``, ``presence_penalty``). ``text_output`` is the generated text alone
unless ``exclude_input_in_output`` is false. ``generate_stream`` answers SSE events
``{"model_name", "model_version", "text_output"}`` with each new piece of text (the whole
text at once when ``parameters.stream`` is false), and an error after the stream began as
``data: {"error": "..."}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..._json import JSONResponse, dumps
from ...errors import bad_request
from ...faults import scripted_grammar
from ...generation.errors import InvalidParameterError
from ...generation.events import TokenEvent
from ...generation.params import SamplingParams
from ...openapi import documented
from ...runtimes.generation import GenerationRuntime
from ...state import get_state
from ..generation_run import GenerationFailed, GenerationRun
from ..requests import read_json_object
from ._models import MODEL_VERSION, model_entry

DEFAULT_MAX_TOKENS = 16
_SAMPLING_KEYS = (
    "temperature",
    "top_p",
    "top_k",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "ignore_eos",
)
# Output controls of Triton's vLLM backend, read by the routes rather than the sampler.
_CONTROL_KEYS = frozenset({"stream", "exclude_input_in_output"})

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["text_input"],
    "properties": {"text_input": {"type": "string"}, "parameters": {"type": "object"}},
}
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "model_name": {"type": "string"},
        "model_version": {"type": "string"},
        "text_output": {"type": "string"},
    },
}


def parameter_names() -> frozenset[str]:
    """The sampling parameters, which ``/infer`` also takes as one-element input tensors."""
    return frozenset({"max_tokens", "max_completion_tokens", "stop", *_SAMPLING_KEYS})


def sampling_params(parameters: dict[str, Any]) -> SamplingParams:
    """vLLM-named parameters → engine parameters; unknown keys are a 400 naming them."""
    unknown = sorted(set(parameters) - {*parameter_names(), *_CONTROL_KEYS})
    if unknown:
        raise bad_request(f"unsupported generation parameter(s): {', '.join(unknown)}.")
    max_tokens = parameters.get("max_tokens", DEFAULT_MAX_TOKENS)
    # OpenAI's newer name, which LiteLLM passes on as it was given.
    newer = parameters.get("max_completion_tokens")
    if newer is not None:
        if "max_tokens" in parameters and parameters["max_tokens"] != newer:
            raise bad_request("max_tokens and max_completion_tokens disagree; give one of them.")
        max_tokens = newer
    stop = parameters.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and (
        not isinstance(stop, list) or not all(isinstance(s, str) for s in stop)
    ):
        raise bad_request("parameters.stop must be a string or a list of strings.")
    kwargs: dict[str, Any] = {"max_tokens": max_tokens, "stop": tuple(stop or ())}
    for key in _SAMPLING_KEYS:
        if parameters.get(key) is not None:
            kwargs[key] = parameters[key]
    try:
        return SamplingParams(**kwargs)
    except InvalidParameterError as exc:
        raise bad_request(f"parameters.{exc.param}: {exc.message}") from exc


def _request_parts(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    text = body.get("text_input")
    if not isinstance(text, str) or not text:
        raise bad_request("'text_input' must be a non-empty string.")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise bad_request("'parameters' must be an object.")
    top_level = {k: v for k, v in body.items() if k not in ("text_input", "parameters", "id")}
    return text, {**top_level, **parameters}


async def _start(request: Request) -> tuple[str, GenerationRun, dict[str, Any], str]:
    entry = model_entry(request)
    runtime = get_state(request).repository.runtime(entry.name, GenerationRuntime)
    body = await read_json_object(request)
    text, parameters = _request_parts(body)
    params = sampling_params(parameters)
    # A scripted answer (test servers only, --enable-faults) becomes the grammar.
    params = dataclasses.replace(params, grammar=scripted_grammar(request, entry.name, None))
    run = GenerationRun(runtime, [await runtime.encode(text)], params)
    return entry.name, run, parameters, text


@documented(request=REQUEST_SCHEMA, response=RESPONSE_SCHEMA, tags=["kserve"])
async def generate(request: Request) -> Response:
    """Generate text from ``text_input`` (Triton's generate extension)."""
    model, run, parameters, prompt = await _start(request)
    (choice,) = await run.collect(request)
    text = choice.text
    if parameters.get("exclude_input_in_output") is False:
        # vLLM's backend option: the prompt, then the generated text.
        text = prompt + text
    return JSONResponse({"model_name": model, "model_version": MODEL_VERSION, "text_output": text})


@documented(request=REQUEST_SCHEMA, tags=["kserve"])
async def generate_stream(request: Request) -> Response:
    """Generate text from ``text_input``, streamed as SSE events of new text."""
    model, run, parameters, _ = await _start(request)
    pieces = parameters.get("stream") is not False
    return StreamingResponse(
        _events(run, model, pieces),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"},
    )


async def _events(run: GenerationRun, model: str, pieces: bool) -> AsyncIterator[bytes]:
    def event(payload: dict[str, Any]) -> bytes:
        return b"data: " + dumps(payload) + b"\n\n"

    base = {"model_name": model, "model_version": MODEL_VERSION}
    text = ""
    try:
        async for item in run.events():
            if isinstance(item, TokenEvent):
                if item.text and pieces:
                    yield event({**base, "text_output": item.text})
                text += item.text
                continue
            text += item.text
            if pieces and item.text:
                yield event({**base, "text_output": item.text})
            elif not pieces:
                yield event({**base, "text_output": text})
    except GenerationFailed as exc:
        yield event({"error": str(exc)})
    finally:
        run.cancel()
