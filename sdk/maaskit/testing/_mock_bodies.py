"""Protocol-accurate bodies for the mocks: deterministic vectors and scores, SSE and NDJSON.

Pure functions of simple arguments, so a test's expectations can be computed the same way.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
from collections.abc import Sequence
from typing import Any

import httpx

DEFAULT_LABELS = ("negative", "neutral", "positive")


def fake_vector(text: str, dim: int) -> list[float]:
    """A unit vector derived from the text: equal texts give equal vectors, others differ."""
    seed = hashlib.sha256(text.encode("utf-8")).digest()
    raw = [((seed[i % len(seed)] + 31 * i) % 251) / 125.0 - 1.0 for i in range(dim)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def fake_scores(labels: Sequence[str], label: str | None, text: str) -> list[float]:
    """Probabilities over ``labels`` that put ``label`` (default: derived from the text) first."""
    if label is None:
        label = labels[hashlib.sha256(text.encode("utf-8")).digest()[0] % len(labels)]
    if label not in labels:
        raise ValueError(f"label {label!r} is not one of {list(labels)}")
    rest = (1.0 - 0.8) / max(len(labels) - 1, 1)
    return [0.8 if name == label else rest for name in labels] if len(labels) > 1 else [1.0]


def split_reply(reply: str) -> list[str]:
    """The reply cut into word-sized pieces (each keeps its leading space), as a model streams."""
    return re.findall(r"\s*\S+|\s+$", reply) or [reply]


def request_json(request: httpx.Request) -> Any:
    try:
        return json.loads(request.content or b"null")
    except ValueError:
        return None


def texts_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item if isinstance(item, str) else json.dumps(item) for item in value]
    return [json.dumps(value)]


def sse(events: Sequence[Any], *, done: bool = True) -> bytes:
    lines = [b"data: " + json.dumps(event).encode() + b"\n\n" for event in events]
    if done:
        lines.append(b"data: [DONE]\n\n")
    return b"".join(lines)


def ndjson(events: Sequence[Any]) -> bytes:
    return b"".join(json.dumps(event).encode() + b"\n" for event in events)


def base64_floats(vector: Sequence[float]) -> str:
    import base64

    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def openai_error(status: int, message: str) -> dict[str, Any]:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def plain_error(status: int, message: str) -> dict[str, Any]:
    """KServe, Ollama and TGI put a string in ``error``."""
    return {"error": message}


def retry_headers(retry_after: float | None) -> dict[str, str]:
    return {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
