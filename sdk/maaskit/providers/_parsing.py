"""Helpers that turn a provider body into typed values or a ``ResponseValidationError``."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from .._exceptions import APIStatusError, ResponseValidationError, status_error_class

__all__ = [
    "decode_base64_floats",
    "error_details_of",
    "error_message_from_body",
    "error_message_of",
    "in_band_error",
    "last_lines",
    "load_json",
    "parse_with",
    "text_of_body",
]

T = TypeVar("T")


def text_of_body(body: bytes, limit: int = 2000) -> str:
    """At most about ``limit`` characters of a body: its start and, when longer, its end too
    (where a plain-text traceback names the exception)."""
    if len(body) <= limit:
        return body.decode("utf-8", errors="replace")
    head, tail = body[: limit // 4], body[-(limit - limit // 4) :]
    return head.decode("utf-8", errors="replace") + "\n…\n" + tail.decode("utf-8", errors="replace")


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


def _detail_item(item: Any) -> str:
    """One FastAPI/pydantic validation error ``{"loc": [...], "msg", "type"}`` as
    ``"body.inputs.0.datatype: Field required"``."""
    if not isinstance(item, Mapping):
        return item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
    message = item.get("msg", item.get("message"))
    text = message if isinstance(message, str) else json.dumps(item, ensure_ascii=False)
    loc = item.get("loc")
    if isinstance(loc, list) and loc:
        return f"{'.'.join(str(part) for part in loc)}: {text}"
    return text


def _joined(items: list[Any]) -> str:
    return "; ".join(_detail_item(item) for item in items)


def error_message_of(payload: Any) -> str | None:
    """The message in every error shape the four protocols use:

    * OpenAI (and vLLM, TGI ``/v1``): ``{"error": {"message", "type", "code", "param"}}``;
    * TGI and TEI: ``{"error": "…", "error_type": "…"}``; KServe, Triton, MLServer and Ollama:
      ``{"error": "…"}``; the Inference API's validation errors ``{"error": ["…", …]}``;
    * FastAPI (MLServer's 422): ``{"detail": [{"loc", "msg", "type"}, …]}``, each message
      joined with its location, or ``{"detail": "…"}``; ``{"message": "…"}``.
    """
    if not isinstance(payload, Mapping):
        return None
    error = payload.get("error")
    if isinstance(error, Mapping):
        message = error.get("message")
        if isinstance(message, str) and message:
            return message
        if isinstance(message, list) and message:  # some gateways send a list of messages
            return _joined(message)
    if isinstance(error, str) and error:
        return error
    if isinstance(error, list) and error:
        return _joined(error)
    detail = payload.get("detail")
    if isinstance(detail, list) and detail:
        return _joined(detail)
    if isinstance(detail, Mapping):
        return error_message_of(detail) or json.dumps(detail, ensure_ascii=False)
    for key in ("message", "detail"):
        if isinstance(payload.get(key), str) and payload[key]:
            return str(payload[key])
    return None


def error_fields_of(payload: Any) -> dict[str, str]:
    """The machine-readable fields of an error body, under OpenAI's names: ``type``,
    ``code`` and ``param`` (OpenAI, vLLM), ``type`` from ``error_type`` (TGI, TEI)."""
    if not isinstance(payload, Mapping):
        return {}
    error = payload.get("error")
    pairs: list[tuple[str, Any]] = []
    if isinstance(error, Mapping):
        pairs = [(key, error.get(key)) for key in ("type", "code", "param")]
    elif isinstance(error, str):
        pairs = [("type", payload.get("error_type"))]
    return {key: str(value) for key, value in pairs if value not in (None, "")}


def error_details_of(payload: Any) -> str | None:
    """What an error body says besides its message, for the error's text:
    OpenAI's ``type``, ``code`` and ``param``, TGI's and TEI's ``error_type``."""
    fields = error_fields_of(payload)
    if isinstance(payload, Mapping) and isinstance(payload.get("error"), str):
        fields = {"error_type": fields["type"]} if "type" in fields else {}
    shown = [f"{key}: {value}" for key, value in fields.items()]
    return ", ".join(shown) or None


def last_lines(text: str, limit: int = 500) -> str:
    """At most ``limit`` characters of a plain-text body, from its end: a server's traceback
    names the exception on its last lines, so those are kept (``…`` marks the cut)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = 2  # the "… " mark
    for line in reversed(text.splitlines()):
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    if not kept:  # one very long last line: its end
        return "… " + text[-(limit - 2) :]
    return "…\n" + "\n".join(reversed(kept))


def error_message_from_body(body: bytes, limit: int = 500) -> str | None:
    """The human message of any error body: a JSON error shape (see ``error_message_of``)
    with its details, else the body's text, ending kept (see ``last_lines``)."""
    text = body.decode("utf-8", errors="replace")
    try:
        payload = json.loads(text) if text.strip() else None
    except ValueError:
        payload = None
    message = error_message_of(payload)
    if message is not None:
        return message
    return last_lines(text, limit) or None


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
