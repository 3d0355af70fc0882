"""Sans-I/O newline-delimited JSON (NDJSON) decoding, as Ollama streams its answers.

Lines are split on bytes before decoding, so a chunk boundary inside a multi-byte UTF-8
character or between ``\\r`` and ``\\n`` is harmless; blank lines are skipped and a final line
without its newline is still decoded when the stream ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..types import Result
from ._base import StreamDecoder
from ._parsing import in_band_error, load_json, parse_with

__all__ = ["NDJSONDecoder", "NDJSONParser"]

ChunkT = TypeVar("ChunkT", bound=Result)


class NDJSONParser:
    """Feed bytes in any split; get one decoded JSON value per complete non-blank line.

    A line that is not JSON raises :class:`maaskit.ResponseValidationError`.
    """

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[Any]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        return [load_json(line) for line in lines if line.strip()]

    def flush(self) -> list[Any]:
        line, self._buffer = self._buffer, b""
        return [load_json(line)] if line.strip() else []


class NDJSONDecoder(StreamDecoder[ChunkT]):
    """One JSON object per line. ``is_last`` tells which object ends the stream (Ollama's
    ``"done": true``); an ``{"error": …}`` line becomes a typed error raised after the chunks
    that came before it."""

    def __init__(
        self,
        what: str,
        build: Callable[[Any], ChunkT],
        is_last: Callable[[Any], bool],
    ) -> None:
        self._what = what
        self._build = build
        self._is_last = is_last
        self._lines = NDJSONParser()
        self.done = False

    def feed(self, data: bytes) -> list[ChunkT]:
        return self._chunks(self._lines.feed(data))

    def close(self) -> list[ChunkT]:
        return self._chunks(self._lines.flush())

    def _chunks(self, payloads: list[Any]) -> list[ChunkT]:
        chunks: list[ChunkT] = []
        for payload in payloads:
            if self.done:
                break
            raw = json.dumps(payload)
            if isinstance(payload, Mapping) and payload.get("error") is not None:
                self.defer(in_band_error(payload, raw))
                # Nothing after an error line counts.
                self.done = True
                break
            chunks.append(parse_with(self._what, raw.encode(), payload, self._build))
            if isinstance(payload, Mapping) and self._is_last(payload):
                self.done = True
        return chunks
