"""Sans-I/O Server-Sent Events decoding from arbitrary byte chunks.

Field parsing is httpx-sse's own ``SSEDecoder`` (spec-exact: comments, ``data`` lines joined
with newlines, one optional space after the colon). It lives in a private module of
httpx-sse; the tests in ``tests/sdk/test_sse.py`` pin its behaviour so an upstream change is
caught. Line splitting is done here because ``SSELineDecoder`` only exists from httpx-sse 0.4.1.
"""

from __future__ import annotations

import codecs
import re

from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder as _FieldDecoder

__all__ = ["SSEParser", "ServerSentEvent"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class SSEParser:
    """Feed bytes in any split (even inside a UTF-8 character or a CRLF); get whole events."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._fields = _FieldDecoder()
        self._line = ""
        # A CR at the end of a chunk may be the first half of a CRLF.
        self._pending_cr = False

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        return self._lines(self._text.decode(data))

    def flush(self) -> list[ServerSentEvent]:
        """End of stream. An event without its closing blank line is still dispatched: a
        server that drops the final newline should not silently lose its last event."""
        events = self._lines(self._text.decode(b"", final=True))
        if self._line:
            events += self._decode_line(self._line)
            self._line = ""
        events += self._decode_line("")
        return events

    def _lines(self, text: str) -> list[ServerSentEvent]:
        if not text:
            return []
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]
        # A trailing CR already ends its line; remember it so a following LF is not a new one.
        self._pending_cr = text.endswith("\r")
        parts = _LINE_BREAK.split(text)
        parts[0] = self._line + parts[0]
        self._line = parts.pop()
        events: list[ServerSentEvent] = []
        for line in parts:
            events += self._decode_line(line)
        return events

    def _decode_line(self, line: str) -> list[ServerSentEvent]:
        event = self._fields.decode(line)
        # The spec dispatches no event without data; httpx-sse does when an id was ever seen.
        return [event] if event is not None and event.data else []
