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
from ...generation.params import MAX_SEED, MAX_STOP_SEQUENCES, MIN_SEED, SamplingParams
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


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    # Every parameter read as "not sent" when null (``parameters.get(key) is not None``).
    return {"anyOf": [schema, {"type": "null"}]}


_NUMBER = {"type": "number"}
# What sampling_params and SamplingParams check, key by key (described here, next to the
# check, so the two cannot drift). max_tokens and max_completion_tokens must agree when both
# are given: beyond JSON Schema, said in the description.
PARAMETER_SCHEMAS: dict[str, dict[str, Any]] = {
    "max_tokens": {"type": "integer", "minimum": 1},
    "max_completion_tokens": {
        "type": "integer",
        "minimum": 1,
        "description": "Equal to max_tokens when both are given.",
    },
    "stop": {
        "anyOf": [
            {"type": "string", "minLength": 1},
            {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "maxItems": MAX_STOP_SEQUENCES,
            },
        ]
    },
    "temperature": {**_NUMBER, "minimum": 0, "maximum": 2},
    "top_p": {**_NUMBER, "exclusiveMinimum": 0, "maximum": 1},
    "top_k": {"type": "integer", "minimum": -1},
    "seed": {"type": "integer", "minimum": MIN_SEED, "maximum": MAX_SEED},
    "frequency_penalty": {**_NUMBER, "minimum": -2, "maximum": 2},
    "presence_penalty": {**_NUMBER, "minimum": -2, "maximum": 2},
    "ignore_eos": {"type": "boolean"},
    "stream": {"type": "boolean"},
    "exclude_input_in_output": {"type": "boolean"},
}
_PARAMETERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {name: _nullable(schema) for name, schema in PARAMETER_SCHEMAS.items()},
    "additionalProperties": False,
}
# The sampling keys are taken at the top level too (Triton's TensorRT-LLM examples).
REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["text_input"],
    "properties": {
        "id": {"type": "string"},
        "text_input": {"type": "string", "minLength": 1},
        "parameters": _PARAMETERS_SCHEMA,
        **PARAMETER_SCHEMAS,
    },
    "additionalProperties": False,
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


# JSON Schema's "integer" takes 5.0, and so does vLLM (pydantic reads an integral float as an
# int): the document says integer, so an integral float is read as that integer. Only below
# 2**53, where a float is exact: orjson reads integers past 64 bits as floats, and
# -9223372036854775809 must not round into the seed range.
_INTEGER_KEYS = frozenset(
    name for name, schema in PARAMETER_SCHEMAS.items() if schema.get("type") == "integer"
)


def _integral(value: Any) -> Any:
    exact = isinstance(value, float) and value.is_integer() and abs(value) <= 2**53
    return int(value) if exact else value


def sampling_params(parameters: dict[str, Any]) -> SamplingParams:
    """vLLM-named parameters → engine parameters; unknown keys are a 400 naming them."""
    unknown = sorted(set(parameters) - {*parameter_names(), *_CONTROL_KEYS})
    if unknown:
        raise bad_request(f"unsupported generation parameter(s): {', '.join(unknown)}.")
    parameters = {k: _integral(v) if k in _INTEGER_KEYS else v for k, v in parameters.items()}
    max_tokens = parameters.get("max_tokens", DEFAULT_MAX_TOKENS)
    # OpenAI's newer name, which LiteLLM passes on as it was given.
    newer = parameters.get("max_completion_tokens")
    if newer is not None:
        old = parameters.get("max_tokens")
        if old is not None and old != newer:
            raise bad_request("max_tokens and max_completion_tokens disagree; give one of them.")
        max_tokens = newer
    stop = parameters.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and (
        not isinstance(stop, list) or not all(isinstance(s, str) for s in stop)
    ):
        raise bad_request("parameters.stop must be a string or a list of strings.")
    for key in _CONTROL_KEYS:
        # Read as "is not False" / "is False" by the routes: anything else must be refused.
        if parameters.get(key) is not None and not isinstance(parameters[key], bool):
            raise bad_request(f"parameters.{key} must be true or false.")
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
    # Only null means "no parameters": 0, "" or [] are not an object (KServe refuses them).
    parameters = body.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise bad_request("'parameters' must be an object.")
    request_id = body.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise bad_request("'id' must be a string.")
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
