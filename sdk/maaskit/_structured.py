"""Structured outputs: a pydantic model as ``response_format``, and ``.parsed`` answers.

A model class becomes OpenAI's ``{"type": "json_schema", "json_schema": {"name", "schema",
"strict": true}}`` with the schema made strict the way OpenAI's strict mode requires (every
object closed with ``additionalProperties: false`` and every property required), as the
official client does; the answer's text is then validated back into an instance. A mapping
is sent unchanged (``{"type": "json_object"}`` or a hand-written ``json_schema``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ._exceptions import InvalidRequestTypeError, OutputValidationError
from .types import ChatResponse

__all__ = ["ResponseFormat", "parse_choices", "response_format_param", "strict_json_schema"]

ResponseFormat = Mapping[str, Any] | type[BaseModel]
"""A ``response_format=``: a JSON dict as OpenAI takes it, or a pydantic model class."""


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema, with every object closed and all its properties required."""
    schema = model.model_json_schema()
    _make_strict(schema)
    return schema


def _make_strict(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _make_strict(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "object" and isinstance(node.get("properties"), dict):
        node["additionalProperties"] = False
        node["required"] = list(node["properties"])
    for key in ("properties", "$defs", "definitions"):
        if isinstance(node.get(key), dict):
            for child in node[key].values():
                _make_strict(child)
    for key in ("items", "anyOf", "allOf", "oneOf", "prefixItems"):
        if key in node:
            _make_strict(node[key])


def response_format_param(value: Any) -> tuple[dict[str, Any] | None, type[BaseModel] | None]:
    """The ``response_format`` to send, and the model class to parse answers into."""
    if value is None:
        return None, None
    if isinstance(value, type) and issubclass(value, BaseModel):
        schema = {"name": value.__name__, "schema": strict_json_schema(value), "strict": True}
        return {"type": "json_schema", "json_schema": schema}, value
    if isinstance(value, Mapping):
        return dict(value), None
    raise InvalidRequestTypeError(
        "response_format must be a pydantic model class or a dict such as "
        f"{{'type': 'json_object'}}, not {type(value).__name__}"
    )


def parse_choices(result: ChatResponse, model: type[BaseModel]) -> ChatResponse:
    """Set ``message.parsed`` on every choice that answered with text (a choice that called
    a tool or refused has none); an answer that does not validate raises."""
    for choice in result.choices:
        message = choice.message
        if message.tool_calls or message.refusal or not isinstance(message.content, str):
            continue
        if choice.finish_reason == "length":
            raise OutputValidationError(
                f"choice {choice.index} was cut off (finish_reason 'length') before its JSON "
                f"was complete; raise max_tokens",
                text=message.content,
                finish_reason=choice.finish_reason,
                result=result,
            )
        try:
            message.parsed = model.model_validate_json(message.content)
        except ValidationError as exc:
            raise OutputValidationError(
                f"choice {choice.index} does not validate as {model.__name__}: "
                f"{exc.error_count()} error(s), first: {_first_error(exc)}",
                text=message.content,
                errors=[dict(e) for e in exc.errors(include_url=False)],
                finish_reason=choice.finish_reason,
                result=result,
            ) from None
    return result


def _first_error(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "(root)"
    return f"{where}: {first['msg']}"
