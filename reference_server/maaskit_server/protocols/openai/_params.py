"""OpenAI request bodies for chat and completions, validated into engine parameters.

Every problem becomes a 400 in OpenAI's error shape naming the field; ``null`` means "use the
default", as OpenAI's own API treats it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import bad_request
from ...generation.errors import InvalidParameterError
from ...generation.params import SamplingParams

MAX_COMPLETION_LOGPROBS = 5


@dataclass(frozen=True)
class StreamOptions:
    stream: bool
    include_usage: bool
    # vLLM's: every chunk carries the usage so far; only together with include_usage.
    continuous_usage: bool = False


def sampling_params(body: dict[str, Any], *, chat: bool) -> SamplingParams:
    max_tokens = body.get("max_completion_tokens") if chat else None
    if max_tokens is None:
        max_tokens = body.get("max_tokens")
    logprobs, top_logprobs = _logprobs(body, chat=chat)
    kwargs: dict[str, Any] = {
        "max_tokens": max_tokens,
        "stop": _stop(body.get("stop")),
        "logprobs": logprobs,
        "top_logprobs": top_logprobs,
    }
    for name in (
        "temperature",
        "top_p",
        "top_k",
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "n",
        "ignore_eos",
        "min_p",
        "repetition_penalty",
        "min_tokens",
    ):
        if body.get(name) is not None:
            kwargs[name] = body[name]
    for name in ("stop_token_ids", "allowed_token_ids"):
        kwargs[name] = _token_ids(body.get(name), name)
    kwargs["logit_bias"] = _logit_bias(body.get("logit_bias"))
    best_of = body.get("best_of")
    if best_of is not None and best_of != kwargs.get("n", 1):
        raise bad_request("best_of is not supported unless it equals n.", param="best_of")
    try:
        return SamplingParams(**kwargs)
    except InvalidParameterError as exc:
        raise bad_request(exc.message, param=exc.param) from exc


def stream_options(body: dict[str, Any]) -> StreamOptions:
    stream = body.get("stream")
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise bad_request("'stream' must be true or false.", param="stream", code="invalid_type")
    options = body.get("stream_options")
    if options is None:
        return StreamOptions(stream, include_usage=False)
    if not isinstance(options, dict):
        raise bad_request("'stream_options' must be an object.", param="stream_options")
    if not stream:
        message = "'stream_options' is only allowed when 'stream' is true."
        raise bad_request(message, param="stream_options")
    include_usage = options.get("include_usage")
    if include_usage is not None and not isinstance(include_usage, bool):
        message = "'stream_options.include_usage' must be true or false."
        raise bad_request(message, param="stream_options")
    continuous = options.get("continuous_usage_stats")
    if continuous is not None and not isinstance(continuous, bool):
        message = "'stream_options.continuous_usage_stats' must be true or false."
        raise bad_request(message, param="stream_options")
    # An empty object behaves like OpenAI's: no usage chunk unless include_usage is true; and
    # as in vLLM, continuous_usage_stats adds usage to every chunk only with include_usage.
    return StreamOptions(
        stream,
        include_usage=bool(include_usage),
        continuous_usage=bool(include_usage) and bool(continuous),
    )


def reject_unsupported(body: dict[str, Any]) -> None:
    # tools and response_format are constraints (see _structured); suffix has no equivalent.
    if body.get("suffix"):
        raise bad_request("'suffix' is not supported by this server.", param="suffix")


def boolean(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request(f"'{name}' must be true or false.", param=name, code="invalid_type")
    return value


def _token_ids(value: Any, name: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) for item in value
    ):
        raise bad_request(f"'{name}' must be a list of token ids.", param=name)
    return tuple(value)


def _logit_bias(value: Any) -> tuple[tuple[int, float], ...]:
    """OpenAI's ``{"token id": bias}`` map (keys are strings in JSON)."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise bad_request("'logit_bias' must map token ids to biases.", param="logit_bias")
    pairs: list[tuple[int, float]] = []
    for key, bias in value.items():
        try:
            token = int(key)
        except ValueError:
            message = f"'logit_bias' key {key!r} is not a token id."
            raise bad_request(message, param="logit_bias") from None
        if isinstance(bias, bool) or not isinstance(bias, int | float):
            raise bad_request("'logit_bias' values must be numbers.", param="logit_bias")
        pairs.append((token, float(bias)))
    return tuple(pairs)


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request("'stop' must be a string or a list of strings.", param="stop")
    return tuple(value)


def _logprobs(body: dict[str, Any], *, chat: bool) -> tuple[bool, int]:
    raw = body.get("logprobs")
    if chat:
        enabled = boolean(body, "logprobs")
        top = body.get("top_logprobs")
        if top is None:
            return enabled, 0
        if not enabled:
            raise bad_request(
                "'top_logprobs' requires 'logprobs' to be true.", param="top_logprobs"
            )
        if isinstance(top, bool) or not isinstance(top, int):
            raise bad_request("'top_logprobs' must be an integer.", param="top_logprobs")
        return True, top
    # Legacy completions: logprobs is the number of alternatives (0-5), null for none.
    if raw is None:
        return False, 0
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= MAX_COMPLETION_LOGPROBS:
        raise bad_request(
            f"'logprobs' must be an integer between 0 and {MAX_COMPLETION_LOGPROBS}.",
            param="logprobs",
        )
    return True, raw
