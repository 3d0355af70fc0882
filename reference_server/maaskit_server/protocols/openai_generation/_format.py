"""Pieces of OpenAI's response shapes shared by chat and completions: ids, logprobs, SSE."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from ..._json import dumps
from ...errors import APIError, openai_shape
from ...generation.sampling import SampledToken
from ...generation.token_text import TokenText

SSE_DONE = b"data: [DONE]\n\n"


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def now() -> int:
    return int(time.time())


def sse(payload: Any) -> bytes:
    return b"data: " + dumps(payload) + b"\n\n"


def sse_error(message: str) -> bytes:
    """An error after the stream began: the openai client raises it as an APIError."""
    error = APIError(500, message, type="server_error", code="generation_failed")
    return sse(openai_shape(error))


def chat_logprobs(tokens: Sequence[SampledToken], text: TokenText) -> dict[str, Any]:
    def entry(token_id: int, logprob: float) -> dict[str, Any]:
        raw = text.token_bytes(token_id)
        return {
            "token": raw.decode("utf-8", errors="replace"),
            "logprob": logprob,
            "bytes": list(raw),
        }

    content = []
    for token in tokens:
        item = entry(token.token_id, token.logprob)
        item["top_logprobs"] = [entry(i, lp) for i, lp in token.top_logprobs]
        content.append(item)
    return {"content": content, "refusal": None}


def completion_logprobs(
    tokens: Sequence[SampledToken], text: TokenText, text_offset: int
) -> dict[str, Any]:
    """The legacy completions shape: parallel lists, alternatives as {token: logprob} maps."""
    strings = [text.token_str(token.token_id) for token in tokens]
    offsets = []
    for piece in strings:
        offsets.append(text_offset)
        text_offset += len(piece)
    return {
        "tokens": strings,
        "token_logprobs": [token.logprob for token in tokens],
        "top_logprobs": [
            {text.token_str(i): lp for i, lp in token.top_logprobs} for token in tokens
        ],
        "text_offset": offsets,
    }
