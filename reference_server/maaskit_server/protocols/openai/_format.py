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
from ..generation_run import usage

SSE_DONE = b"data: [DONE]\n\n"


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def now() -> int:
    return int(time.time())


def sse(payload: Any) -> bytes:
    return b"data: " + dumps(payload) + b"\n\n"


def final_write(
    events: list[bytes], base: dict[str, Any] | None, prompt_tokens: int, completion_tokens: int
) -> bytes:
    """A stream's last events, its usage chunk (``base`` given: ``include_usage``) and
    ``[DONE]`` in one write: each write is a send that wakes the client, and the end of a
    stream was three of them."""
    pieces = [*events]
    if base is not None:
        pieces.append(usage_chunk(base, prompt_tokens, completion_tokens))
    return b"".join((*pieces, SSE_DONE))


def usage_chunk(base: dict[str, Any], prompt_tokens: int, completion_tokens: int) -> bytes:
    """The chunk with no choices that carries a stream's usage (``include_usage``)."""
    return sse({**base, "choices": [], "usage": usage(prompt_tokens, completion_tokens)})


class ChunkEncoder:
    """SSE chunks of one stream. The fields every chunk repeats are encoded once, and the usual
    chunk (a bit of text, no logprobs, no finish) is filled into that template: the bytes are
    exactly what :func:`sse` makes of the whole dict, at a fraction of the cost per token.

    ``continuous_prompt_tokens`` (vLLM's ``continuous_usage_stats``): every chunk carries the
    usage so far, its choice's tokens counted by :meth:`count`."""

    def __init__(
        self,
        base: dict[str, Any],
        include_usage: bool,
        continuous_prompt_tokens: int | None = None,
    ) -> None:
        self._base = base
        # OpenAI sends "usage": null on every chunk when usage was asked for.
        self._extra: dict[str, Any] = {"usage": None} if include_usage else {}
        self._head = b"data: " + dumps(base)[:-1] + b',"choices":[{"index":'
        self._tail = (b',"usage":null' if include_usage else b"") + b"}\n\n"
        self._prompt_tokens = continuous_prompt_tokens
        self._completion_tokens: dict[int, int] = {}

    def count(self, index: int, tokens: int = 1, *, total: int | None = None) -> None:
        """Choice ``index`` generated ``tokens`` more (or ``total`` in all)."""
        if self._prompt_tokens is None:
            return
        seen = self._completion_tokens.get(index, 0) + tokens
        self._completion_tokens[index] = seen if total is None else total

    def _usage(self, index: int) -> dict[str, int]:
        prompt = self._prompt_tokens or 0
        completion = self._completion_tokens.get(index, 0)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def choice(self, choice: dict[str, Any]) -> bytes:
        if self._prompt_tokens is not None:
            usage = self._usage(int(choice["index"]))
            return sse({**self._base, "choices": [choice], "usage": usage})
        return sse({**self._base, "choices": [choice], **self._extra})

    def text(self, index: int, before: bytes, text: str, after: bytes) -> bytes:
        """``{"index": index`` + ``before`` + the JSON string ``text`` + ``after``, as a chunk."""
        tail = self._tail
        if self._prompt_tokens is not None:
            tail = b',"usage":' + dumps(self._usage(index)) + b"}\n\n"
        return b"".join((self._head, b"%d" % index, before, dumps(text), after, tail))


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
