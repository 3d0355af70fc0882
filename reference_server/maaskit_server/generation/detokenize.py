"""Incremental detokenization that never splits a UTF-8 character across chunks.

Built on ``tokenizers.decoders.DecodeStream``, which runs the tokenizer's own decoder
pipeline (byte-level BPE, byte fallback, metaspace...) and buffers tokens until they form
complete characters.
"""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import Tokenizer
from tokenizers.decoders import DecodeStream

# Prompt ids given to the stream as context so that decoders which strip a leading space from
# the first token (metaspace) decode the continuation as it reads after the prompt.
_CONTEXT_TOKENS = 6


class IncrementalDetokenizer:
    def __init__(self, tokenizer: Tokenizer, prompt_ids: Sequence[int] = ()) -> None:
        self._tokenizer = tokenizer
        context = list(prompt_ids[-_CONTEXT_TOKENS:])
        self._stream = DecodeStream(ids=context or None, skip_special_tokens=True)
        self._pending: list[int] = []

    def step(self, token_id: int) -> str:
        """Text completed by ``token_id``; empty while a character is still incomplete."""
        chunk = self._stream.step(self._tokenizer, token_id)
        if chunk is None:
            self._pending.append(token_id)
            return ""
        self._pending.clear()
        return str(chunk)

    def flush(self) -> str:
        """At the end of generation: whatever incomplete bytes remain, decoded lossily."""
        if not self._pending:
            return ""
        text = str(self._tokenizer.decode(self._pending, skip_special_tokens=True))
        self._pending.clear()
        return text
