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


def check_fields(body: dict[str, Any], *, chat: bool) -> None:
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
    backend = body.get("guided_decoding_backend")
    if backend is not None and backend not in GUIDED_BACKENDS:
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
