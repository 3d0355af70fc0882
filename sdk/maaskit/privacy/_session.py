"""One masking session: the placeholders of one call or one conversation, and their values."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from pydantic import SecretBytes

from ._detection import Detection
from ._placeholders import StreamRestorer, restore_text

__all__ = ["MaskSession", "Mode"]

Mode = Literal["mask", "redact", "pseudonymise"]


class MaskSession:
    """Masks outgoing text and restores the answers of one call or conversation.

    Made by :meth:`Masker.session`. The same value always gets the same placeholder within a
    session (``alice@example.com`` is ``<EMAIL_1>`` in every message), so a model can refer to
    it consistently. The values live only in this object's memory: they are in no ``repr``,
    log record or exception, and are gone when the session is.
    """

    __slots__ = ("_counts", "_detect", "_key", "_originals", "_placeholders", "mode")

    def __init__(
        self,
        detect: _DetectFn,
        *,
        mode: Mode,
        key: SecretBytes,
    ) -> None:
        self._detect = detect
        self.mode: Mode = mode
        self._key = key
        self._placeholders: dict[tuple[str, str], str] = {}  # (kind, value) -> placeholder
        self._originals: dict[str, str] = {}  # placeholder -> value
        self._counts: dict[str, int] = {}

    @property
    def restores(self) -> bool:
        """Whether answers get their values back (False in ``redact`` mode)."""
        return self.mode != "redact"

    def mask(self, text: str) -> str:
        """``text`` with every detection replaced by its placeholder."""
        return self.apply(text, self._detect(text, self.mode != "redact"))

    async def amask(self, text: str) -> str:
        """The same as :meth:`mask`, awaiting detectors that have an async ``adetect`` (such as
        :class:`EndpointDetector`) instead of blocking the event loop."""
        detections = await self._detect.adetect(text, self.mode != "redact")
        return self.apply(text, detections)

    def apply(self, text: str, detections: Sequence[Detection]) -> str:
        """Replace already resolved, non-overlapping ``detections`` (sorted by start)."""
        if not isinstance(text, str):
            raise TypeError(f"can only mask str, got {type(text).__name__}")
        parts: list[str] = []
        position = 0
        for detection in detections:
            parts.append(text[position : detection.start])
            parts.append(self._placeholder(detection.kind, text[detection.start : detection.end]))
            position = detection.end
        parts.append(text[position:])
        return "".join(parts)

    def restore(self, text: str) -> str:
        """``text`` with this session's placeholders replaced by their values (unchanged in
        ``redact`` mode, and for placeholders this session did not issue)."""
        return restore_text(text, self._originals)

    def stream_restorer(self) -> StreamRestorer:
        """A restorer for one streamed answer: ``feed(chunk) -> str``, then ``flush() -> str``."""
        return StreamRestorer(self._originals, self._originals.keys)

    def _placeholder(self, kind: str, value: str) -> str:
        if self.mode == "redact":
            return f"<{kind}>"
        known = self._placeholders.get((kind, value))
        if known is not None:
            return known
        if self.mode == "pseudonymise":
            digest = hmac.new(
                self._key.get_secret_value(), f"{kind}\0{value}".encode(), hashlib.sha256
            ).hexdigest()
            placeholder = f"<{kind}_{digest[:12]}>"
        else:
            count = self._counts.get(kind, 0) + 1
            self._counts[kind] = count
            placeholder = f"<{kind}_{count}>"
        self._placeholders[(kind, value)] = placeholder
        self._originals[placeholder] = value
        return placeholder

    def __len__(self) -> int:
        """How many distinct values this session has masked."""
        return len(self._originals)

    def __repr__(self) -> str:
        return f"MaskSession(mode={self.mode!r}, placeholders={len(self._originals)})"

    def __reduce__(self) -> str | tuple[Any, ...]:
        # Pickling would write the values somewhere: refuse rather than leak.
        raise TypeError("a MaskSession holds personal data and cannot be pickled")


class _DetectFn(Protocol):
    """What a session needs from its masker: resolved detections, sync and async."""

    def __call__(self, text: str, escape: bool) -> list[Detection]: ...

    async def adetect(self, text: str, escape: bool) -> list[Detection]: ...
