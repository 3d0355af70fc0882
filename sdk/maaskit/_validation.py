"""Checks on call arguments, so bad input fails at the call with a clear message and no
request is sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from .types import ChatMessage

__all__ = ["check_flag", "check_messages", "check_model", "check_prompt", "check_texts"]


def check_model(model: Any) -> str:
    if not isinstance(model, str):
        raise TypeError(f"model must be a str, got {type(model).__name__}")
    if not model.strip():
        raise ValueError("model must not be empty")
    return model


def check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_messages(messages: Any) -> list[ChatMessage]:
    if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Sequence):
        raise TypeError("messages must be a list of {'role': ..., 'content': ...} dicts")
    if not messages:
        raise ValueError("messages must not be empty")
    checked: list[ChatMessage] = []
    for index, message in enumerate(messages):
        if isinstance(message, ChatMessage):
            checked.append(message)
            continue
        if not isinstance(message, Mapping):
            raise TypeError(f"messages[{index}] must be a dict or ChatMessage, not {message!r}")
        role = message.get("role")
        if not isinstance(role, str) or not role:
            raise ValueError(f"messages[{index}] needs a non-empty string 'role'")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise TypeError(f"messages[{index}]['content'] must be a str or a list of parts")
        try:
            checked.append(ChatMessage.model_validate(dict(message)))
        except ValidationError as exc:
            raise ValueError(f"messages[{index}] is not a valid chat message: {exc}") from None
    return checked


def check_texts(name: str, value: Any) -> list[str]:
    """A str or a non-empty list of non-empty str."""
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, (bytes, Mapping)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a str or a list of str, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise TypeError(f"{name}[{index}] must be a str, got {type(item).__name__}")
        if not item:
            raise ValueError(f"{name}[{index}] must not be an empty string")
    return list(value)


def check_prompt(prompt: Any) -> str | list[str]:
    if isinstance(prompt, str):
        if not prompt:
            raise ValueError("prompt must not be empty")
        return prompt
    return check_texts("prompt", prompt)
