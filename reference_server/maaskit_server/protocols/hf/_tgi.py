"""TGI's generation ``parameters`` → engine parameters, validated as TGI validates them.

``text_generation.Client`` sends all 18 keys, explicit ``null`` for "unset". As in TGI,
sampling happens when ``do_sample`` is true or any warper (``temperature`` other than 1,
``top_k``, ``top_p``, ``typical_p``) is set; otherwise decoding is greedy. A seed is drawn
(and reported in ``details.seed``) when sampling without one. Unsupported features
(``repetition_penalty`` other than 1, ``typical_p``, ``best_of`` > 1, ``watermark``,
``top_n_tokens``, ``adapter_id``) are 422 validation errors, never ignored. ``grammar``
constrains the output (JSON schema or regex) as TGI's guidance does.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from ...errors import APIError
from ...generation.errors import InvalidParameterError
from ...generation.grammar import Grammar
from ...generation.params import MAX_SEED, MAX_STOP_SEQUENCES, SamplingParams

DEFAULT_MAX_NEW_TOKENS = 100
KNOWN_KEYS = frozenset(
    {
        "adapter_id",
        "best_of",
        "decoder_input_details",
        "details",
        "do_sample",
        "frequency_penalty",
        "grammar",
        "max_new_tokens",
        "repetition_penalty",
        "return_full_text",
        "seed",
        "stop",
        "temperature",
        "top_k",
        "top_n_tokens",
        "top_p",
        "truncate",
        "typical_p",
        "watermark",
    }
)


_NULL = {"type": "null"}
_FLAG = {"anyOf": [{"type": "boolean"}, _NULL]}
# Which regex or JSON schema compiles is beyond JSON Schema: the route says (422).
_GRAMMAR = {
    "anyOf": [
        {
            "type": "object",
            "required": ["type", "value"],
            "properties": {
                "type": {"const": "json"},
                "value": {"anyOf": [{"type": "object"}, {"type": "string"}]},
            },
        },
        {
            "type": "object",
            "required": ["type", "value"],
            "properties": {
                "type": {"const": "json_schema"},
                "value": {"type": "object", "required": ["schema"]},
            },
        },
        {
            "type": "object",
            "required": ["type", "value"],
            "properties": {"type": {"const": "regex"}, "value": {"type": "string"}},
        },
    ]
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, _NULL]}


# What tgi_request and SamplingParams check, key by key (described here, next to the check,
# so the two cannot drift); null is "unset", as text_generation.Client sends it. Unsupported
# features take only the values that mean "not used".
PARAMETER_SCHEMAS: dict[str, dict[str, Any]] = {
    "adapter_id": _NULL,
    "best_of": _nullable({"const": 1}),
    "decoder_input_details": _FLAG,
    "details": _FLAG,
    "do_sample": _FLAG,
    "frequency_penalty": _nullable({"type": "number", "minimum": -2, "maximum": 2}),
    "grammar": _nullable(_GRAMMAR),
    "max_new_tokens": _nullable({"type": "integer", "minimum": 1}),
    "repetition_penalty": _nullable({"const": 1}),
    "return_full_text": _FLAG,
    "seed": _nullable({"type": "integer", "minimum": 0, "maximum": MAX_SEED}),
    "stop": _nullable(
        {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "maxItems": MAX_STOP_SEQUENCES,
        }
    ),
    "temperature": _nullable({"type": "number", "exclusiveMinimum": 0, "maximum": 2}),
    "top_k": _nullable({"type": "integer", "minimum": 1}),
    "top_n_tokens": _nullable({"const": 0}),
    "top_p": _nullable({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}),
    "truncate": _nullable({"type": "integer", "minimum": 1}),
    "typical_p": _NULL,
    "watermark": _nullable({"const": False}),
}
PARAMETERS_SCHEMA: dict[str, Any] = _nullable(
    {"type": "object", "properties": PARAMETER_SCHEMAS, "additionalProperties": False}
)


def validation_error(message: str) -> APIError:
    """TGI answers invalid parameters with 422 and ``error_type: "validation"``."""
    return APIError(422, message, type="validation", code="validation")


@dataclass(frozen=True)
class TGIRequest:
    prompt: str
    params: SamplingParams
    details: bool
    decoder_input_details: bool
    return_full_text: bool
    truncate: int | None
    sampled_seed: int | None  # the seed reported in details (None when greedy)


def tgi_request(body: dict[str, Any], *, max_new_tokens_default: int | None) -> TGIRequest:
    prompt = body.get("inputs")
    if not isinstance(prompt, str) or not prompt:
        raise validation_error("`inputs` must be a non-empty string.")
    # Checked on every route (/generate read a number as "not streaming"): TGI's serde refuses.
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise validation_error("`stream` must be true or false.")
    parameters = body.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise validation_error("`parameters` must be an object.")
    unknown = sorted(set(parameters) - KNOWN_KEYS)
    if unknown:
        raise validation_error(f"unknown parameter(s): {', '.join(unknown)}.")
    _reject_unsupported(parameters)
    seed = _optional_int(parameters, "seed", minimum=0)
    sampling = _flag(parameters, "do_sample") or any(
        parameters.get(key) is not None for key in ("top_k", "top_p", "typical_p")
    )
    temperature = parameters.get("temperature")
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            raise validation_error("`temperature` must be a number.")
        if temperature <= 0:
            raise validation_error("`temperature` must be strictly positive")
        sampling = sampling or temperature != 1.0
    top_p = parameters.get("top_p")
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, int | float) or not 0 < top_p < 1
    ):
        raise validation_error("`top_p` must be > 0.0 and < 1.0")
    top_k = _optional_int(parameters, "top_k", minimum=1)
    max_new_tokens = _optional_int(parameters, "max_new_tokens", minimum=1)
    stop = parameters.get("stop")
    if stop is None:
        stop = []
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise validation_error("`stop` must be a list of strings.")
    if sampling and seed is None:
        seed = secrets.randbelow(2**63)
    kwargs: dict[str, Any] = {
        "max_tokens": max_new_tokens if max_new_tokens is not None else max_new_tokens_default,
        "stop": tuple(stop),
        "temperature": float(temperature or 1.0) if sampling else 0.0,
        "seed": seed,
        # TGI reports every token's log-probability (details and stream events).
        "logprobs": True,
        "grammar": _grammar(parameters.get("grammar")),
    }
    if sampling and top_p is not None:
        kwargs["top_p"] = float(top_p)
    if sampling and top_k is not None:
        kwargs["top_k"] = top_k
    if parameters.get("frequency_penalty") is not None:
        kwargs["frequency_penalty"] = parameters["frequency_penalty"]
    try:
        params = SamplingParams(**kwargs)
    except InvalidParameterError as exc:
        raise validation_error(f"`{exc.param}`: {exc.message}") from exc
    return TGIRequest(
        prompt=prompt,
        params=params,
        details=_flag(parameters, "details"),
        decoder_input_details=_flag(parameters, "decoder_input_details"),
        return_full_text=_flag(parameters, "return_full_text"),
        truncate=_optional_int(parameters, "truncate", minimum=1),
        sampled_seed=seed if sampling else None,
    )


# Features this server does not implement, and the values that mean "not used".
_UNSUPPORTED: dict[str, tuple[Any, ...]] = {
    "repetition_penalty": (None, 1, 1.0),
    "typical_p": (None,),
    "best_of": (None, 1, 1.0),  # JSON Schema's 1 (the document's const) is 1.0 too
    "watermark": (None, False),
    "top_n_tokens": (None, 0, 0.0),
    "adapter_id": (None,),
}


def _grammar(value: Any) -> Grammar | None:
    """TGI's ``grammar``: ``{"type": "json", "value": schema}`` or ``{"type": "regex", ...}``
    (also ``json_schema`` with ``{"name", "schema"}``, as TGI 3 takes OpenAI's shape)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise validation_error("`grammar` must be an object with `type` and `value`.")
    kind, spec = value.get("type"), value.get("value")
    try:
        if kind == "json":
            if isinstance(spec, str):
                spec = json.loads(spec)
            return Grammar.json_schema(spec, param="grammar")
        if kind == "json_schema" and isinstance(spec, dict):
            return Grammar.json_schema(spec.get("schema"), param="grammar")
        if kind == "regex":
            return Grammar.regex(spec, param="grammar")
    except (InvalidParameterError, ValueError) as exc:  # ValueError: JSON text that won't parse
        raise validation_error(f"`grammar`: {exc}") from exc
    raise validation_error("`grammar.type` must be 'json', 'json_schema' or 'regex'.")


def _reject_unsupported(parameters: dict[str, Any]) -> None:
    for key, unused in _UNSUPPORTED.items():
        value = parameters.get(key)
        if not any(
            value is allowed or (value == allowed and type(value) is type(allowed))
            for allowed in unused
        ):
            raise validation_error(f"`{key}` is not supported by this server.")


def _flag(parameters: dict[str, Any], key: str) -> bool:
    value = parameters.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise validation_error(f"`{key}` must be true or false.")
    return value


def _optional_int(parameters: dict[str, Any], key: str, *, minimum: int) -> int | None:
    value = parameters.get(key)
    if value is None:
        return None
    # JSON Schema's integer (the document's) takes 7.0: read as 7, only below 2**53, where a
    # float is exact (a huge seed stays out of range rather than rounding into it).
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise validation_error(f"`{key}` must be an integer of at least {minimum}.")
    return value
