"""Errors meant for the client, and the one place that renders them in a protocol's shape.

Route code raises :class:`APIError`; the app's exception handlers render it. The shape depends on
the protocol the path belongs to (OpenAI's ``{"error": {...}}`` by default), so a teammate adding
a protocol with its own shape registers it with :func:`register_error_shape`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._json import JSONResponse

ErrorShape = Callable[["APIError"], Any]


class APIError(Exception):
    """A client-facing error: a status plus OpenAI's ``message``, ``type``, ``param``, ``code``."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str = "invalid_request",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})


def bad_request(message: str, *, param: str | None = None, code: str = "invalid_value") -> APIError:
    return APIError(400, message, param=param, code=code)


def model_not_found(model: str) -> APIError:
    return APIError(
        404,
        f"The model {model!r} does not exist or is not loaded.",
        type="not_found_error",
        param="model",
        code="model_not_found",
    )


def openai_shape(error: APIError) -> dict[str, Any]:
    return {
        "error": {
            "message": error.message,
            "type": error.type,
            "param": error.param,
            "code": error.code,
        }
    }


def kserve_shape(error: APIError) -> dict[str, Any]:
    return {"error": error.message}


# Longest prefix wins; everything not listed answers in OpenAI's shape.
_SHAPES: dict[str, ErrorShape] = {"/v2": kserve_shape}


def register_error_shape(path_prefix: str, shape: ErrorShape) -> None:
    """Make errors on paths under ``path_prefix`` render with ``shape`` instead of OpenAI's."""
    _SHAPES[path_prefix] = shape


def shape_for_path(path: str) -> ErrorShape:
    matches = [prefix for prefix in _SHAPES if path == prefix or path.startswith(prefix + "/")]
    if not matches:
        return openai_shape
    return _SHAPES[max(matches, key=len)]


def error_response(path: str, error: APIError) -> JSONResponse:
    body = shape_for_path(path)(error)
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)
