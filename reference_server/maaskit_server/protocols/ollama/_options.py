"""Ollama request pieces: model names (``name`` or ``name:latest``), ``options`` → engine
parameters with Ollama's defaults, and the timing counters every final answer carries.

Ollama's sampling defaults apply when an option is absent: ``temperature`` 0.8, ``top_k``
40, ``top_p`` 0.9, ``num_predict`` -1 (until a stop or the context is full; -2 fills the
context too). Options that only tune Ollama's own runtime (``num_ctx``, ``num_thread``,
``num_gpu``…) are ignored, as Ollama ignores options a model does not use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ...errors import APIError, bad_request
from ...generation.errors import InvalidParameterError
from ...generation.params import MAX_SEED, MAX_STOP_SEQUENCES, MIN_SEED, SamplingParams
from ..requests import integral

LATEST = ":latest"
DEFAULTS: dict[str, Any] = {"temperature": 0.8, "top_k": 40, "top_p": 0.9}
_DIRECT = ("temperature", "top_p", "top_k", "seed", "frequency_penalty", "presence_penalty")


def model_name(body: dict[str, Any]) -> str:
    """The repository name of ``body["model"]`` (Ollama's implicit ``:latest`` tag removed)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("model is required")
    return model[: -len(LATEST)] if model.endswith(LATEST) else model


def listed_name(name: str) -> str:
    return name + LATEST


def stream_flag(body: dict[str, Any]) -> bool:
    """Ollama streams unless the request says ``"stream": false``."""
    value = body.get("stream")
    if value is None:
        return True
    if not isinstance(value, bool):
        raise bad_request("stream must be true or false")
    return value


_NUMBER = {"type": "number"}
_STOP_TEXT = {"type": "string", "minLength": 1}
# What sampling_params and SamplingParams check, option by option (described here, next to
# the check, so the two cannot drift). Other options tune Ollama's own runtime and are ignored.
OPTION_SCHEMAS: dict[str, dict[str, Any]] = {
    "temperature": {**_NUMBER, "minimum": 0, "maximum": 2},
    "top_p": {**_NUMBER, "exclusiveMinimum": 0, "maximum": 1},
    "top_k": {"type": "integer", "minimum": -1},
    "seed": {"type": "integer", "minimum": MIN_SEED, "maximum": MAX_SEED},
    "frequency_penalty": {**_NUMBER, "minimum": -2, "maximum": 2},
    "presence_penalty": {**_NUMBER, "minimum": -2, "maximum": 2},
    "num_predict": {
        "type": "integer",
        "description": "At most this many tokens; 0 or negative: until a stop or the context "
        "is full.",
    },
    "stop": {
        "anyOf": [
            _STOP_TEXT,
            {"type": "array", "items": _STOP_TEXT, "maxItems": MAX_STOP_SEQUENCES},
        ]
    },
}
# Null is "not sent", as Ollama reads it.
OPTIONS_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                name: {"anyOf": [schema, {"type": "null"}]}
                for name, schema in OPTION_SCHEMAS.items()
            },
        },
        {"type": "null"},
    ]
}
_INTEGER_OPTIONS = frozenset(
    name for name, schema in OPTION_SCHEMAS.items() if schema.get("type") == "integer"
)


def _integer_option(value: Any) -> Any:
    # JSON Schema's integer takes 5.0, and so does Ollama (its options are JSON numbers):
    # read as the integer, only below 2**53, where a float is exact (a huge seed stays out
    # of range rather than rounding into it).
    number = integral(value) if isinstance(value, float) and abs(value) <= 2**53 else None
    return value if number is None else number


def sampling_params(body: dict[str, Any]) -> SamplingParams:
    options = body.get("options")
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise bad_request("options must be an object")
    given = {
        k: _integer_option(v) if k in _INTEGER_OPTIONS else v
        for k, v in options.items()
        if v is not None
    }
    merged = {**DEFAULTS, **given}
    kwargs: dict[str, Any] = {key: merged[key] for key in _DIRECT if key in merged}
    num_predict = merged.get("num_predict", -1)
    if isinstance(num_predict, bool) or not isinstance(num_predict, int):
        raise bad_request("options.num_predict must be an integer")
    # Negative means "until the context is full" (-1 infinite, -2 fill the context).
    kwargs["max_tokens"] = num_predict if num_predict > 0 else None
    stop = merged.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and (
        not isinstance(stop, list) or not all(isinstance(s, str) for s in stop)
    ):
        raise bad_request("options.stop must be a list of strings")
    kwargs["stop"] = tuple(stop or ())
    try:
        return SamplingParams(**kwargs)
    except InvalidParameterError as exc:
        raise bad_request(f"options.{exc.param}: {exc.message}") from exc


def reject_unsupported(body: dict[str, Any], *fields: str) -> None:
    for key in fields:
        value = body.get(key)
        if value not in (None, "", [], False):
            raise APIError(400, f"{key} is not supported by this server")


@dataclass
class Timer:
    """Ollama's nanosecond durations: total, prompt evaluation (to the first token), eval."""

    started: int = field(default_factory=time.monotonic_ns)
    first_token: int | None = None

    def token(self) -> None:
        if self.first_token is None:
            self.first_token = time.monotonic_ns()

    def counters(self, prompt_tokens: int, eval_tokens: int) -> dict[str, int]:
        now = time.monotonic_ns()
        first = self.first_token if self.first_token is not None else now
        return {
            "total_duration": now - self.started,
            "load_duration": 0,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": first - self.started,
            "eval_count": eval_tokens,
            "eval_duration": now - first,
        }


def created_at() -> str:
    """RFC 3339 with nanoseconds, as Ollama writes ``created_at``."""
    now = time.time_ns()
    seconds, nanos = divmod(now, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"
