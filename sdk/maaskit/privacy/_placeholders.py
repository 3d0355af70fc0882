"""The placeholder grammar, restoring placeholders in text, and restoring them in a stream.

A placeholder is ``<`` + kind + ``_`` + id + ``>``: ``<EMAIL_1>``, ``<IP_ADDRESS_2>``, or with a
keyed-hash id in pseudonymise mode, ``<EMAIL_3f9a0c2d41be>``. The shape is one a language model
copies through untouched (a tag-like word with no spaces), and one that the masker can tell
apart from the user's own text: text that already looks like a placeholder is escaped before
sending (masked as kind ``PLACEHOLDER``), so restoring can never turn it into someone's data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

__all__ = ["PLACEHOLDER_PATTERN", "StreamRestorer", "restore_text"]

PLACEHOLDER_PATTERN = re.compile(r"<[A-Z][A-Z0-9]*(?:_[A-Z][A-Z0-9]*)*_[0-9a-f]+>")


def restore_text(text: str, originals: dict[str, str]) -> str:
    """Replace every known placeholder in one pass (a restored value is never scanned again,
    so a value that itself looks like a placeholder stays as it was). Unknown placeholders,
    such as one the model made up, are left as they are."""
    if "<" not in text or not originals:
        return text
    return PLACEHOLDER_PATTERN.sub(lambda match: originals.get(match.group(), match.group()), text)


class StreamRestorer:
    """Restores placeholders in text that arrives in pieces, such as streamed chat chunks.

    ``feed(chunk)`` returns the restored text that can no longer be part of a placeholder and
    keeps back only a tail that is a proper prefix of a placeholder the session issued (from
    its last ``<``); ``flush()`` returns what is kept back at the end of the stream. So
    ``"".join(feed(c) for c in chunks) + flush()`` equals ``restore("".join(chunks))`` for any
    split of the text, and text with no ``<`` in it passes straight through.
    """

    def __init__(self, originals: dict[str, str], tokens: Callable[[], Collection[str]]) -> None:
        # ``originals`` is the session's own dict (not a copy): placeholders issued while the
        # stream runs, e.g. for a tool result masked mid-conversation, are restored too.
        self._originals = originals
        self._tokens = tokens
        self._pending = ""

    def feed(self, chunk: str) -> str:
        """Take the next piece of text; return what is safe to show now."""
        text = self._pending + chunk
        self._pending = ""
        cut = text.rfind("<")
        if cut != -1 and self._could_become_placeholder(text[cut:]):
            self._pending = text[cut:]
            text = text[:cut]
        return restore_text(text, self._originals)

    def flush(self) -> str:
        """The end of the stream: return the kept-back tail (it never became a placeholder)."""
        text, self._pending = self._pending, ""
        return restore_text(text, self._originals)

    def _could_become_placeholder(self, tail: str) -> bool:
        return any(len(token) > len(tail) and token.startswith(tail) for token in self._tokens())

    def __repr__(self) -> str:
        return f"StreamRestorer(pending_chars={len(self._pending)})"
