"""The OpenAPI document, built from the app's own routes so no route can be left out.

Endpoints describe themselves: the first docstring line is the summary, and the optional
:func:`documented` decorator adds request and response schemas.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from starlette.routing import BaseRoute, Mount, Route

from . import __version__
from .errors import openai_shape, shape_for_path

EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])
_ATTRIBUTE = "__maaskit_openapi__"


def documented(
    *,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    tags: Sequence[str] = (),
    other_media: Mapping[str, dict[str, Any]] | None = None,
) -> Callable[[EndpointT], EndpointT]:
    """``other_media``: success answers in other media types than JSON (their schemas)."""

    def attach(endpoint: EndpointT) -> EndpointT:
        extra = {"request": request, "response": response, "tags": tags, "media": other_media}
        setattr(endpoint, _ATTRIBUTE, extra)
        return endpoint

    return attach


def openapi_document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for path, route in _flatten(routes, ""):
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            paths.setdefault(path, {})[method.lower()] = _operation(path, route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "maaskit reference server", "version": __version__},
        "paths": paths,
        "components": {"schemas": {"OpenAIError": ERROR_SCHEMA, "MessageError": MESSAGE_ERROR}},
    }


def _flatten(routes: Sequence[BaseRoute], prefix: str) -> list[tuple[str, Route]]:
    found: list[tuple[str, Route]] = []
    for route in routes:
        if isinstance(route, Route):
            # OpenAPI has no path converters: "{model:path}" is documented as "{model}".
            found.append((re.sub(r"{(\w+):\w+}", r"{\1}", prefix + route.path), route))
        elif isinstance(route, Mount):
            found.extend(_flatten(route.routes, prefix + route.path))
    return found


def _operation(path: str, route: Route) -> dict[str, Any]:
    doc = (route.endpoint.__doc__ or route.name or "").strip().splitlines()
    extra: dict[str, Any] = getattr(route.endpoint, _ATTRIBUTE, {})
    success: dict[str, Any] = {"application/json": {"schema": extra.get("response") or {}}}
    if path in _TEXT_ROUTES:
        success = {_TEXT_ROUTES[path]: {"schema": {"type": "string"}}}
    for media_type, schema in (extra.get("media") or {}).items():
        success[media_type] = {"schema": schema}
    request = extra.get("request") or {}
    if "stream" in request.get("properties", {}) or path.endswith("_stream"):
        # Streamed answers: Ollama's routes send NDJSON, every other protocol SSE.
        stream_type = "application/x-ndjson" if path.startswith("/api/") else "text/event-stream"
        # Each event is one of the route's chunks (or its final error): not described here.
        success[stream_type] = {"schema": {}}
    # Errors come in the shape of the path's protocol (errors.py): OpenAI's object, or the
    # {"error": "message"} of KServe, TGI and Ollama.
    error = "OpenAIError" if shape_for_path(path) is openai_shape else "MessageError"
    operation: dict[str, Any] = {
        "summary": doc[0] if doc else path,
        "operationId": route.name,
        "responses": {
            "200": {"description": "Success", "content": success},
            "default": {
                "description": "Error",
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{error}"}}
                },
            },
        },
    }
    if extra.get("tags"):
        operation["tags"] = list(extra["tags"])
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]
    if parameters:
        operation["parameters"] = parameters
    if extra.get("request"):
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _nullable_optionals(extra["request"])}},
        }
    return operation


def _nullable_optionals(schema: dict[str, Any]) -> dict[str, Any]:
    """Optional fields also take ``null``: every route reads a null field as one not sent (as
    OpenAI's own document marks its optional fields ``nullable``)."""
    if isinstance(schema.get("anyOf"), list) and "properties" not in schema:
        # A body of several kinds (POST /models/{name}: the served model's task's): each.
        return {**schema, "anyOf": [_nullable_optionals(branch) for branch in schema["anyOf"]]}
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return schema
    required = set(schema.get("required", []))
    return {
        **schema,
        "properties": {
            name: value if name in required or _allows_null(value) else _or_null(value)
            for name, value in properties.items()
        },
    }


def _allows_null(schema: dict[str, Any]) -> bool:
    if not schema:
        return True
    kinds = schema.get("type")
    return (
        kinds == "null"
        or (isinstance(kinds, list) and "null" in kinds)
        or None in schema.get("enum", [])
        or any(_allows_null(option) for option in schema.get("anyOf", []))
    )


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


# Routes that answer plain text (the Prometheus exposition format).
_TEXT_ROUTES = {"/metrics": "text/plain"}

MESSAGE_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": "string"},
            },
        }
    },
}
