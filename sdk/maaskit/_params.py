"""The keyword arguments of ``chat()``, ``complete()``, ``embed()`` and ``classify()``.

Every method spells its parameters out (so IDEs complete them and mypy checks them); this
module holds what the methods share: the names each accepts, the refusal of an unknown
keyword with the nearest valid name (``max_token`` → ``max_tokens``; the official client
raises Python's bare ``TypeError`` there), and the assembly of the request body.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ._call_options import CALL_OPTIONS, CallOptions, split_call_options
from ._exceptions import InvalidRequestError, InvalidRequestTypeError

__all__ = [
    "CHAT_PARAMS",
    "CLASSIFY_PARAMS",
    "COMPLETE_PARAMS",
    "EMBED_PARAMS",
    "body_params",
    "call_options",
    "reject_unknown",
]

_SDK = ("tags", "privacy", "provider_params", *CALL_OPTIONS)

CHAT_PARAMS = (
    "model",
    "messages",
    "stream",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "presence_penalty",
    "response_format",
    "seed",
    "stop",
    "stream_options",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "user",
    "reasoning_effort",
    "metadata",
    "store",
    "service_tier",
    *_SDK,
)

COMPLETE_PARAMS = (
    "model",
    "prompt",
    "stream",
    "best_of",
    "echo",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "max_tokens",
    "n",
    "presence_penalty",
    "seed",
    "stop",
    "stream_options",
    "suffix",
    "temperature",
    "top_p",
    "top_k",
    "user",
    *_SDK,
)

EMBED_PARAMS = ("model", "input", "dimensions", "encoding_format", "user", *_SDK)

CLASSIFY_PARAMS = ("model", "input", *_SDK)


def reject_unknown(method: str, unknown: Mapping[str, Any], valid: tuple[str, ...]) -> None:
    """Raise for keywords the method does not take, naming the closest one it does."""
    if not unknown:
        return
    name = sorted(unknown)[0]
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise InvalidRequestTypeError(
        f"{method}() got an unexpected keyword argument {name!r}{hint} "
        "(send provider-specific fields with provider_params= or extra_body=)"
    )


def body_params(
    named: Mapping[str, Any], provider_params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The parameters that go to the provider: the named ones that were given (``None``
    means "not given", as the provider's own default applies then), then
    ``provider_params`` (a provider's own names, mapped the provider's way)."""
    body = {name: value for name, value in named.items() if value is not None}
    if provider_params is not None:
        if not isinstance(provider_params, Mapping) or not all(
            isinstance(key, str) for key in provider_params
        ):
            raise InvalidRequestTypeError("provider_params must be a mapping with str keys")
        body.update(provider_params)
    return body


def call_options(
    *,
    timeout: Any,
    max_retries: Any,
    extra_headers: Any,
    extra_query: Any,
    extra_body: Any,
    idempotency_key: Any,
) -> CallOptions | None:
    given = {
        name: value
        for name, value in (
            ("timeout", timeout),
            ("max_retries", max_retries),
            ("extra_headers", extra_headers),
            ("extra_query", extra_query),
            ("extra_body", extra_body),
            ("idempotency_key", idempotency_key),
        )
        if value is not None
    }
    try:
        _, options = split_call_options(given)
    except TypeError as exc:
        raise InvalidRequestTypeError(str(exc)) from None
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    return options
