"""Request bodies every protocol reads: the JSON object, and field checks that answer a clear
400 naming the field (in the shape of the protocol whose path it is, see ``errors``).

Shared by all protocols, so none of them reaches into another's private modules for it.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from ..errors import APIError, bad_request
from ..model_spec import ModelSpec
from ..tokenization import TextInputs

CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


async def read_json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.body()
    except ClientDisconnect as exc:
        raise APIError(400, "The client disconnected while sending the body.") from exc
    if not body.strip():
        raise bad_request("The request body is empty; send a JSON object.", code="invalid_json")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        message = f"The request body is not valid JSON: {exc}"
        raise bad_request(message, code="invalid_json") from exc
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.", code="invalid_json")
    return data


def required_string(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if value is None:
        raise bad_request(f"Missing required parameter: {field!r}.", param=field, code="missing")
    if not isinstance(value, str) or not value:
        message = f"{field!r} must be a non-empty string."
        raise bad_request(message, param=field, code="invalid_type")
    return value


def optional_string(body: dict[str, Any], field: str) -> str | None:
    """A field documented as a string or null (not sent): anything else is a 400 naming it."""
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        message = f"{field!r} must be a string."
        raise bad_request(message, param=field, code="invalid_type")
    return value


def integral(value: Any) -> int | None:
    """``value`` as an int if it is one in JSON Schema's sense (5 or 5.0, as vLLM's pydantic
    lax mode reads it), else None; true and false are not numbers here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


# What text_inputs accepts, for the OpenAPI document: described next to the check so the two
# cannot drift (no empty list, no empty text, no empty token list).
TEXT_INPUTS_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        # Token ids, below the model's vocabulary size too (GET /v1/models does not say it).
        {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}},
        {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "integer", "minimum": 0},
            },
        },
    ]
}
# The routes that read texts only (no token ids).
TEXTS_ONLY_SCHEMA: dict[str, Any] = {"oneOf": TEXT_INPUTS_SCHEMA["oneOf"][:2]}


def text_inputs(value: Any, *, max_inputs: int, param: str = "input") -> TextInputs:
    """A string, a list of strings, a list of ints, or a list of lists of ints."""
    if value is None:
        raise bad_request(f"Missing required parameter: {param!r}.", param=param, code="missing")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise _wrong_type(param)
    if not value:
        raise bad_request(f"{param!r} must not be an empty list.", param=param, code="empty_input")
    if all(_is_int(item) for item in value):
        value = [value]
    if len(value) > max_inputs:
        raise bad_request(
            f"{param!r} has {len(value)} items, more than the limit of {max_inputs} inputs per "
            "request (max_inputs_per_request).",
            param=param,
            code="too_many_inputs",
        )
    if all(isinstance(item, str) for item in value):
        for index, text in enumerate(value):
            if not text:
                raise _empty(param, index)
        return list(value)
    if all(isinstance(item, list) and all(_is_int(t) for t in item) for item in value):
        for index, tokens in enumerate(value):
            if not tokens:
                raise _empty(param, index)
        return [[int(token) for token in tokens] for tokens in value]
    raise _wrong_type(param)


# What truncation accepts for truncate_prompt_tokens: a positive count or -1 (vLLM).
TRUNCATE_PROMPT_TOKENS_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "integer", "minimum": 1}, {"const": -1}]
}


def truncation(body: dict[str, Any], spec: ModelSpec) -> int | None:
    """Tokens to keep per input when the request (or the model's default) asks to truncate.

    ``truncate_prompt_tokens`` follows vLLM (``-1`` means the model's limit); ``truncate: true``
    means the model's limit. ``None`` means "do not truncate: reject over-long inputs".
    """
    truncate = body.get("truncate")
    # Checked even when truncate_prompt_tokens decides: {"truncate": {}} was accepted then.
    if truncate is not None and not isinstance(truncate, bool):
        raise bad_request("'truncate' must be true or false.", param="truncate")
    keep = body.get("truncate_prompt_tokens")
    if keep is not None:
        if not _is_int(keep) or (keep < 1 and keep != -1):
            raise bad_request(
                "'truncate_prompt_tokens' must be a positive integer or -1.",
                param="truncate_prompt_tokens",
            )
        return spec.max_input_tokens if keep == -1 else int(keep)
    if truncate is not None:
        return spec.max_input_tokens if truncate else None
    return spec.max_input_tokens if spec.truncation_default else None


def chat_messages(value: Any) -> list[dict[str, str]]:
    """Messages reduced to role and text content, ready for the chat template."""
    if value is None:
        raise bad_request(
            "Missing required parameter: 'messages'.", param="messages", code="missing"
        )
    if not isinstance(value, list):
        raise bad_request("'messages' must be a list.", param="messages", code="invalid_type")
    if not value:
        raise bad_request(
            "'messages' must contain at least one message.", param="messages", code="empty_array"
        )
    messages: list[dict[str, str]] = []
    for index, message in enumerate(value):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise bad_request(f"{where} must be an object.", param=where, code="invalid_type")
        role = message.get("role")
        if not isinstance(role, str) or role not in CHAT_ROLES:
            known = ", ".join(sorted(CHAT_ROLES))
            raise bad_request(
                f"{where}.role {role!r} is not one of: {known}.",
                param=f"{where}.role",
                code="invalid_value",
            )
        content = _content_text(message.get("content"), role, f"{where}.content")
        messages.append({"role": role, "content": content})
    return messages


def _content_text(content: Any, role: str, where: str) -> str:
    if content is None:
        if role == "assistant":
            return ""  # an assistant turn that only carried tool calls
        raise bad_request(f"{where} is required.", param=where, code="missing")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for index, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text":
                message = f"{where}[{index}]: only text content parts are supported."
                raise bad_request(message, param=where, code="invalid_type")
            text = part.get("text")
            if not isinstance(text, str):
                message = f"{where}[{index}].text must be a string."
                raise bad_request(message, param=where, code="invalid_type")
            parts.append(text)
        return "".join(parts)
    raise bad_request(
        f"{where} must be a string or a list of text parts.", param=where, code="invalid_type"
    )


def _is_int(value: Any) -> bool:
    # 5.0 too: JSON Schema's integer (what the document says) and vLLM's pydantic accept it.
    return integral(value) is not None


def _wrong_type(param: str) -> APIError:
    return bad_request(
        f"{param!r} must be a string, a list of strings, a list of token ids, or a list of "
        "lists of token ids.",
        param=param,
        code="invalid_type",
    )


def _empty(param: str, index: int) -> APIError:
    return bad_request(f"{param}[{index}] is empty.", param=param, code="empty_input")
