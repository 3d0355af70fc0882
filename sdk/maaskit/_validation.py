"""Checks on call arguments, so bad input fails at the call with a clear message and no
request is sent: an :class:`InvalidRequestError` (a ``ValueError``) for a bad value, an
:class:`InvalidRequestTypeError` (also a ``TypeError``) for a wrong type."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ._exceptions import InvalidRequestError, InvalidRequestTypeError
from .types import ChatMessage

__all__ = [
    "check_flag",
    "check_messages",
    "check_model",
    "check_params",
    "check_prompt",
    "check_texts",
]


def check_model(model: Any) -> str:
    if not isinstance(model, str):
        raise InvalidRequestTypeError(f"model must be a str, got {type(model).__name__}")
    if not model.strip():
        raise InvalidRequestError("model must not be empty")
    return model


def check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestTypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_messages(messages: Any) -> list[ChatMessage]:
    if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Sequence):
        raise InvalidRequestTypeError(
            "messages must be a list of {'role': ..., 'content': ...} dicts"
        )
    if not messages:
        raise InvalidRequestError("messages must not be empty")
    checked: list[ChatMessage] = []
    for index, message in enumerate(messages):
        if isinstance(message, ChatMessage):
            checked.append(message)
            continue
        if not isinstance(message, Mapping):
            raise InvalidRequestTypeError(
                f"messages[{index}] must be a dict or ChatMessage, not {message!r}"
            )
        role = message.get("role")
        if not isinstance(role, str) or not role:
            raise InvalidRequestError(f"messages[{index}] needs a non-empty string 'role'")
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise InvalidRequestError(
                f"messages[{index}] has role 'tool' but no 'tool_call_id' (the id of the call "
                "it answers)"
            )
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise InvalidRequestTypeError(
                f"messages[{index}]['content'] must be a str or a list of parts"
            )
        try:
            checked.append(ChatMessage.model_validate(dict(message)))
        except ValidationError as exc:
            raise InvalidRequestError(
                f"messages[{index}] is not a valid chat message: {exc}"
            ) from None
    return checked


def check_texts(name: str, value: Any) -> list[str]:
    """A str or a non-empty list of non-empty str."""
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, (bytes, Mapping)) or not isinstance(value, Sequence):
        raise InvalidRequestTypeError(
            f"{name} must be a str or a list of str, got {type(value).__name__}"
        )
    if not value:
        raise InvalidRequestError(f"{name} must not be empty")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidRequestTypeError(
                f"{name}[{index}] must be a str, got {type(item).__name__}"
            )
        if not item:
            raise InvalidRequestError(f"{name}[{index}] must not be an empty string")
    return list(value)


def check_prompt(prompt: Any) -> str | list[str]:
    if isinstance(prompt, str):
        if not prompt:
            raise InvalidRequestError("prompt must not be empty")
        return prompt
    return check_texts("prompt", prompt)


# Integer parameters and their smallest allowed value.
_INTS = {
    "n": 1,
    "max_tokens": 1,
    "max_completion_tokens": 1,
    "best_of": 1,
    "dimensions": 1,
    "top_logprobs": 0,
    "top_k": -1,  # vLLM's "off"
    "seed": None,
}
_NUMBERS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")


def check_params(params: Mapping[str, Any]) -> None:
    """Values of the named request parameters the SDK can judge without the server: the
    type of every number, the range of counts, ``stop`` and ``tools``."""
    for name, value in params.items():
        if value is None:
            continue
        if name in _INTS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidRequestTypeError(f"{name} must be an int, got {value!r}")
            low = _INTS[name]
            if low is not None and value < low:
                raise InvalidRequestError(f"{name} must be >= {low}, got {value}")
        elif name in _NUMBERS:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidRequestTypeError(f"{name} must be a number, got {value!r}")
            if value != value or value in (float("inf"), float("-inf")):
                raise InvalidRequestError(f"{name} must be a finite number, got {value}")
            if name == "temperature" and value < 0:
                raise InvalidRequestError(f"temperature must be >= 0, got {value}")
            if name == "top_p" and not 0 <= value <= 1:
                raise InvalidRequestError(f"top_p must be between 0 and 1, got {value}")
        elif name == "stop":
            if not isinstance(value, str) and not (
                isinstance(value, Sequence) and all(isinstance(s, str) for s in value)
            ):
                raise InvalidRequestTypeError("stop must be a str or a list of str")
        elif name == "tools":
            _check_tools(value)


def _check_tools(tools: Any) -> None:
    if isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Sequence):
        raise InvalidRequestTypeError("tools must be a list of {'type': 'function', ...} dicts")
    for index, tool in enumerate(tools):
        if not isinstance(tool, Mapping):
            raise InvalidRequestTypeError(f"tools[{index}] must be a dict, not {tool!r}")
        function = tool.get("function")
        if tool.get("type", "function") == "function" and (
            not isinstance(function, Mapping) or not isinstance(function.get("name"), str)
        ):
            raise InvalidRequestError(f"tools[{index}] needs a 'function' with a 'name'")
