"""Every field of a chat or completions body is honoured, or refused with a 400 naming it.

Never silently ignored: a client that asks for beam search, prompt logprobs or audio must learn
that it did not get them. The tables below are the OpenAI and vLLM request schemas as this
server treats them; ``tests/generation/test_request_fields.py`` walks them.

* honoured: read by ``_params`` / ``_structured`` / the routes and effective;
* metadata: accepted, and by their nature without effect on the answer (``user``, ``metadata``…);
* default-only: accepted only at the value that means "not used" (vLLM's own defaults);
  anything else is a 400 ``unsupported_parameter``;
* anything else: a 400 ``unknown_parameter``, as OpenAI answers unrecognised arguments.
"""

from __future__ import annotations

from typing import Any

from ...errors import bad_request
from ...generation.params import MAX_N, MAX_SEED, MAX_STOP_SEQUENCES, MAX_TOP_LOGPROBS, MIN_SEED
from ...generation.tools import FUNCTION_NAME
from ..requests import CHAT_ROLES

_COMMON_HONOURED = frozenset(
    {
        "model",
        "max_tokens",
        "temperature",
        "top_p",
        "top_k",
        "seed",
        "stop",
        "frequency_penalty",
        "presence_penalty",
        "n",
        "best_of",
        "logprobs",
        "stream",
        "stream_options",
        "ignore_eos",
        "logit_bias",
        "min_p",
        "repetition_penalty",
        "min_tokens",
        "stop_token_ids",
        "allowed_token_ids",
        "response_format",
        "guided_json",
        "guided_regex",
        "guided_choice",
        "guided_grammar",
        "guided_json_object",
        "structured_outputs",
        "guided_decoding_backend",
    }
)
CHAT_HONOURED = _COMMON_HONOURED | {
    "messages",
    "max_completion_tokens",
    "top_logprobs",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
}
COMPLETION_HONOURED = _COMMON_HONOURED | {"prompt", "echo", "suffix"}
METADATA = frozenset(
    {"user", "metadata", "store", "service_tier", "prompt_cache_key", "safety_identifier"}
    | {"prompt_cache_retention", "prompt_cache_options", "request_id", "priority"}
)
_COMMON_DEFAULT_ONLY: dict[str, tuple[Any, ...]] = {
    "prompt_logprobs": (None,),
    "bad_words": (None, ()),
    "use_beam_search": (None, False),
    "length_penalty": (None, 1.0),
    "include_stop_str_in_output": (None, False),
    "skip_special_tokens": (None, True),
    "spaces_between_special_tokens": (None, True),
    "truncate_prompt_tokens": (None,),
    "return_tokens_as_token_ids": (None, False),
    "guided_whitespace_pattern": (None,),
    "logits_processors": (None, ()),
    "cache_salt": (None,),
    "kv_transfer_params": (None,),
    "vllm_xargs": (None,),
}
CHAT_DEFAULT_ONLY: dict[str, tuple[Any, ...]] = {
    **_COMMON_DEFAULT_ONLY,
    "modalities": (None, ("text",)),
    "audio": (None,),
    "prediction": (None,),
    "web_search_options": (None,),
    "functions": (None, ()),
    "function_call": (None,),
    "reasoning_effort": (None,),
    "verbosity": (None,),
    "moderation": (None,),
    "echo": (None, False),
    "add_generation_prompt": (None, True),
    "continue_final_message": (None, False),
    "add_special_tokens": (None, False),
    "documents": (None,),
    "chat_template": (None,),
    "chat_template_kwargs": (None, ()),
    "mm_processor_kwargs": (None, ()),
}
COMPLETION_DEFAULT_ONLY: dict[str, tuple[Any, ...]] = {
    **_COMMON_DEFAULT_ONLY,
    "add_special_tokens": (None, True),
    "prompt_embeds": (None,),
}
# Backends this server's structured outputs stand in for: any of them means "constrained".
GUIDED_BACKENDS = frozenset(
    {"auto", "guidance", "llguidance", "xgrammar", "outlines", "lm-format-enforcer"}
)


_TEXT_PART = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
}
_CONTENT: list[dict[str, Any]] = [{"type": "string"}, {"type": "array", "items": _TEXT_PART}]
# An assistant turn may come without content (it only carried tool calls); no other may.
_MESSAGE = {
    "anyOf": [
        {
            "type": "object",
            "required": ["role"],
            "properties": {
                "role": {"const": "assistant"},
                "content": {"anyOf": [*_CONTENT, {"type": "null"}]},
            },
        },
        {
            "type": "object",
            "required": ["role", "content"],
            "properties": {
                "role": {"enum": sorted(CHAT_ROLES - {"assistant"})},
                "content": {"anyOf": _CONTENT},
            },
        },
    ]
}
MESSAGES_SCHEMA: dict[str, Any] = {"type": "array", "minItems": 1, "items": _MESSAGE}
# What the sampler checks (generation/params.py), in the document's words. Constraints between
# fields (best_of == n, min_tokens <= max_tokens, prompt + max_tokens within the model's
# context) are beyond JSON Schema and stay in the descriptions.
_TOKEN_IDS = {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}}
# A function tool; "type" may be left out (read as "function"), other keys are not read.
_TOOL: dict[str, Any] = {
    "type": "object",
    "required": ["function"],
    "properties": {
        "type": {"const": "function"},
        "function": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": FUNCTION_NAME.pattern},
                "parameters": {"type": ["object", "null"]},
            },
        },
    },
}
_HONOURED_SCHEMAS: dict[str, dict[str, Any]] = {
    "prompt": {
        "anyOf": [
            {"type": "string", "minLength": 1},
            {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
            _TOKEN_IDS,
            {"type": "array", "minItems": 1, "items": _TOKEN_IDS},
        ],
        "description": "Token ids below the model's vocabulary size.",
    },
    "messages": MESSAGES_SCHEMA,
    "max_tokens": {"type": "integer", "minimum": 1},
    "max_completion_tokens": {"type": "integer", "minimum": 1},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    "top_p": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    "top_k": {"type": "integer", "minimum": -1},
    "seed": {"type": "integer", "minimum": MIN_SEED, "maximum": MAX_SEED},
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
    "frequency_penalty": {"type": "number", "minimum": -2, "maximum": 2},
    "presence_penalty": {"type": "number", "minimum": -2, "maximum": 2},
    "n": {"type": "integer", "minimum": 1, "maximum": MAX_N},
    "best_of": {"type": "integer", "minimum": 1, "maximum": MAX_N, "description": "Equal to n."},
    "top_logprobs": {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_TOP_LOGPROBS,
        "description": "Needs logprobs: true.",
    },
    "ignore_eos": {"type": "boolean"},
    "logit_bias": {
        "type": "object",
        "propertyNames": {"pattern": "^[0-9]+$"},
        "additionalProperties": {"type": "number", "minimum": -100, "maximum": 100},
    },
    "min_p": {"type": "number", "minimum": 0, "maximum": 1},
    "repetition_penalty": {"type": "number", "exclusiveMinimum": 0, "maximum": 10},
    "min_tokens": {"type": "integer", "minimum": 0, "description": "At most max_tokens."},
    "stop_token_ids": {"type": "array", "items": {"type": "integer", "minimum": 0}},
    "allowed_token_ids": {"type": "array", "items": {"type": "integer", "minimum": 0}},
    "guided_decoding_backend": {"enum": sorted(GUIDED_BACKENDS)},
    # _params.stream_options reads null as not sent; only with stream: true (_STREAM_OPTIONS).
    "stream_options": {
        "type": "object",
        "properties": {
            "include_usage": {"type": ["boolean", "null"]},
            "continuous_usage_stats": {"type": ["boolean", "null"]},
        },
        "additionalProperties": False,
    },
    "parallel_tool_calls": {"type": "boolean"},
    # What generation/tools.py parse_tools and plan_tools read; unique names, a tool_choice
    # naming one of the tools and parameters llguidance can follow are beyond JSON Schema.
    "tools": {
        "anyOf": [
            {"type": "array", "items": _TOOL},
            {"type": "null"},
        ],
        "description": "Function names are unique; parameters is a JSON schema llguidance "
        "can follow.",
    },
    "tool_choice": {
        "anyOf": [
            {"enum": ["none", "auto", "required"]},
            {
                "type": "object",
                "required": ["function"],
                "properties": {
                    "function": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}},
                    }
                },
            },
            {"type": "null"},
        ],
        "description": "A named function is one of tools.",
    },
    # Refused when truthy (_params.reject_unsupported): every JSON value that is not.
    "suffix": {"enum": [None, "", False, 0, [], {}]},
}


# Flags some code paths read only as truthy: checked here, so every path refuses a non-boolean.
_BOOLEANS = ("parallel_tool_calls", "ignore_eos", "stream", "echo", "guided_json_object")


def request_schema(typed: dict[str, Any], *, chat: bool) -> dict[str, Any]:
    """The route's request schema completed from the tables above, so the document forbids
    exactly what :func:`check_fields` refuses: every honoured and metadata field, default-only
    fields at their defaults, nothing else (``additionalProperties: false``)."""
    honoured = CHAT_HONOURED if chat else COMPLETION_HONOURED
    default_only = CHAT_DEFAULT_ONLY if chat else COMPLETION_DEFAULT_ONLY
    typed_properties: dict[str, Any] = typed.get("properties", {})
    properties: dict[str, Any] = {
        name: _HONOURED_SCHEMAS.get(name, typed_properties.get(name, {})) for name in honoured
    }
    properties.update({name: {} for name in METADATA})
    properties.update(
        {
            name: {"enum": [value for item in defaults for value in _json_defaults(item)]}
            for name, defaults in default_only.items()
        }
    )
    document = {**typed, "properties": dict(sorted(properties.items()))}
    if "stream_options" in properties:
        document.update(_STREAM_OPTIONS)
    if "tool_choice" in properties:
        document["allOf"] = [_TOOL_CHOICE]
    return {**document, "additionalProperties": False}


# stream_options (an object, not null) is refused unless stream is true (_params.stream_options).
_STREAM_OPTIONS: dict[str, Any] = {
    "if": {"required": ["stream_options"], "properties": {"stream_options": {"type": "object"}}},
    "then": {"required": ["stream"], "properties": {"stream": {"const": True}}},
}


# tool_choice "auto", "required" or a named function is refused without tools (plan_tools).
_TOOL_CHOICE: dict[str, Any] = {
    "if": {
        "required": ["tool_choice"],
        "properties": {
            "tool_choice": {"anyOf": [{"enum": ["auto", "required"]}, {"type": "object"}]}
        },
    },
    "then": {"required": ["tools"], "properties": {"tools": {"type": "array", "minItems": 1}}},
}


def _json_defaults(item: Any) -> list[Any]:
    # () stands for "empty": _is_default takes an empty list and an empty object alike.
    if item == ():
        return [[], {}]
    return [list(item)] if isinstance(item, tuple) else [item]


# Fields the document calls integers: JSON Schema's integer is 2.0 too, and vLLM (pydantic)
# reads an integral float as the integer, so they are read as such here, for every check after.
_INTEGERS = (
    "max_tokens",
    "max_completion_tokens",
    "top_k",
    "seed",
    "n",
    "best_of",
    "top_logprobs",
    "min_tokens",
)
_INTEGER_LISTS = ("stop_token_ids", "allowed_token_ids")


# Beyond 2**53 a float is not exact: orjson reads an integer outside 64 bits (a seed below
# -2**63) as the float nearest it, which may be the bound itself; such floats stay refused.
_EXACT_FLOAT = 2**53


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) <= _EXACT_FLOAT:
        return int(value)
    return value


def read_integers(body: dict[str, Any], *, chat: bool) -> None:
    """Replace, in ``body``, integral floats of the integer fields by integers."""
    for name in (*_INTEGERS, *(() if chat else ("logprobs",))):
        if name in body:
            body[name] = _integral(body[name])
    for name in _INTEGER_LISTS:
        if isinstance(body.get(name), list):
            body[name] = [_integral(item) for item in body[name]]


def check_fields(body: dict[str, Any], *, chat: bool) -> None:
    """Refuse what the tables above refuse; integral floats of integer fields are read as
    integers first (``body`` is changed in place)."""
    read_integers(body, chat=chat)
    honoured = CHAT_HONOURED if chat else COMPLETION_HONOURED
    default_only = CHAT_DEFAULT_ONLY if chat else COMPLETION_DEFAULT_ONLY
    for name, value in body.items():
        if name in honoured or name in METADATA:
            continue
        if name in default_only:
            if not _is_default(value, default_only[name]):
                raise bad_request(
                    f"'{name}' is not supported by this server (only its default, "
                    f"{_describe(default_only[name])}, is accepted).",
                    param=name,
                    code="unsupported_parameter",
                )
            continue
        raise bad_request(
            f"Unrecognized request argument supplied: {name}",
            param=name,
            code="unknown_parameter",
        )
    for name in _BOOLEANS:
        if body.get(name) is not None and not isinstance(body[name], bool):
            raise bad_request(f"'{name}' must be true or false.", param=name, code="invalid_type")
    for name in ("max_tokens", "max_completion_tokens"):
        # Both checked: a chat request reads max_tokens only without max_completion_tokens.
        value = body.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise bad_request(f"'{name}' must be an integer of at least 1.", param=name)
    backend = body.get("guided_decoding_backend")
    # Checked as a string first: a list or an object is not hashable (it answered 500).
    if backend is not None and (not isinstance(backend, str) or backend not in GUIDED_BACKENDS):
        raise bad_request(
            f"'guided_decoding_backend' {backend!r} is not known.",
            param="guided_decoding_backend",
        )
    options = body.get("stream_options")
    if isinstance(options, dict):
        for key in options:
            if key in ("include_usage", "continuous_usage_stats"):
                continue
            raise bad_request(
                f"'stream_options.{key}' is not supported by this server.",
                param="stream_options",
                code="unsupported_parameter",
            )


def _is_default(value: Any, defaults: tuple[Any, ...]) -> bool:
    if isinstance(value, list | dict) and not value:
        return () in defaults
    if isinstance(value, list) and tuple(value) in defaults:
        return True
    # True is not 1.0, 1 is: compare numbers as numbers but never across bool.
    return any(
        value is default
        or (type(value) is type(default) and value == default)
        or (
            isinstance(value, int | float)
            and isinstance(default, float)
            and not isinstance(value, bool)
            and value == default
        )
        for default in defaults
    )


def _describe(defaults: tuple[Any, ...]) -> str:
    shown = ["null" if item is None else ("[]" if item == () else repr(item)) for item in defaults]
    return " or ".join(shown)
