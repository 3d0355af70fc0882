"""Helpers that turn a provider body into typed values or a ``ResponseValidationError``."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from .._exceptions import APIStatusError, ResponseValidationError, status_error_class

__all__ = ["decode_base64_floats", "in_band_error", "load_json", "parse_with", "text_of_body"]

T = TypeVar("T")


def text_of_body(body: bytes, limit: int = 2000) -> str:
    return body[:limit].decode("utf-8", errors="replace")


def load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ResponseValidationError(
            f"the response body is not valid JSON: {exc}", body=text_of_body(body)
        ) from exc


def parse_with(what: str, body: bytes, payload: Any, build: Callable[[Any], T]) -> T:
    """Run ``build`` on decoded JSON; any shape mismatch becomes a ResponseValidationError."""
    try:
        return build(payload)
    except ResponseValidationError:
        raise
    except (ValidationError, KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ResponseValidationError(
            f"unexpected {what} response shape: {type(exc).__name__}: {exc}".splitlines()[0],
            body=text_of_body(body),
        ) from exc


def decode_base64_floats(encoded: str) -> list[float]:
    """OpenAI's ``encoding_format="base64"``: little-endian float32, base64 encoded."""
    raw = base64.b64decode(encoded, validate=True)
    if len(raw) % 4:
        raise ValueError(f"base64 embedding has {len(raw)} bytes, not a multiple of 4")
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def error_message_of(payload: Any) -> str | None:
    """The message in the usual error shapes: ``{"error": {"message"}}``, ``{"error": "…"}``,
    ``{"message"}``, ``{"detail"}`` (FastAPI)."""
    if not isinstance(payload, Mapping):
        return None
    error = payload.get("error")
    if isinstance(error, Mapping) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    for key in ("message", "detail"):
        if isinstance(payload.get(key), str):
            return str(payload[key])
    return None


def in_band_error(payload: Mapping[str, Any], raw: str) -> APIStatusError:
    """An ``{"error": …}`` event inside a 200 stream. Its ``code`` is used as the status when it
    is an HTTP status; otherwise it is a server-side failure and reported as 500."""
    error = payload.get("error")
    code = error.get("code") if isinstance(error, Mapping) else None
    status = code if isinstance(code, int) and 400 <= code <= 599 else 500
    message = error_message_of(payload) or "error event in stream"
    return status_error_class(status)(
        f"the stream reported an error: {message}",
        status_code=status,
        provider_message=message,
        body=raw,
    )
