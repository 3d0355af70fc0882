"""Tokenization with the ``tokenizers`` library, and the per-input token limit.

One :class:`TextTokenizer` is shared by every thread of a model, so it is configured once at load
(no padding, no truncation) and only used read-only afterwards; per-request truncation is done on
the :class:`tokenizers.Encoding`, never by mutating the tokenizer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer

from .inputs import InputTooLongError, InvalidTokenIdError

# A request's inputs: texts, or token ids the caller already produced with this model's tokenizer.
TextInputs = list[str] | list[list[int]]


def chars_per_token_bound(tokenizer: Tokenizer) -> int:
    """Characters one token can stand for, at most, with a margin: a text longer than this
    many characters per allowed token has more tokens than allowed, known without tokenizing.

    A token is at most its longest vocabulary entry (byte-level entries are one character per
    byte, and a character is at least a byte), or for WordPiece a whole unknown word of up to
    ``max_input_chars_per_word``; doubled, because normalizers may drop characters (accents
    split off by NFD, control characters) before the text is cut into tokens.
    """
    longest = max((len(token) for token in tokenizer.get_vocab(with_added_tokens=True)), default=1)
    model = json.loads(tokenizer.to_str()).get("model", {})
    longest = max(longest, int(model.get("max_input_chars_per_word") or 0))
    return 2 * (longest + 1)


def too_many_characters(index: int, text: str, *, max_tokens: int) -> InputTooLongError:
    return InputTooLongError(
        f"input[{index}] has {len(text)} characters, more than this model's limit of "
        f"{max_tokens} tokens could hold (max_input_tokens); shorten it",
        truncatable=True,
    )


class TextTokenizer:
    def __init__(self, path: Path) -> None:
        self._tokenizer = Tokenizer.from_file(str(path))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self.chars_per_token = chars_per_token_bound(self._tokenizer)
        self._special_tokens = self._tokenizer.num_special_tokens_to_add(is_pair=False)
        self.vocab_size: int = self._tokenizer.get_vocab_size(with_added_tokens=True)
        self.pad_id: int = self._find_pad_id()

    def _find_pad_id(self) -> int:
        for token in ("[PAD]", "<pad>", "<|pad|>", "<|endoftext|>"):
            token_id = self._tokenizer.token_to_id(token)
            if token_id is not None:
                return int(token_id)
        return 0

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=True)
        return [list(encoding.ids) for encoding in encodings]

    def max_chars(self, max_tokens: int) -> int:
        """Characters past which a text surely has more than ``max_tokens`` tokens."""
        return max_tokens * self.chars_per_token

    def encode_truncated(self, text: str, max_tokens: int) -> list[int]:
        """Encode keeping the start of ``text`` so that, special tokens included, it fits.

        The special tokens are always kept: a limit below them (``truncate_prompt_tokens`` 1
        or 2 on BERT) keeps them alone, ``[CLS] [SEP]``, as Hugging Face's truncation does for
        2 (vLLM truncates with it), rather than refusing the input.
        """
        # Only the start can be kept: what lies past the bound is never tokenized.
        text = text[: self.max_chars(max_tokens)]
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        encoding.truncate(max(0, max_tokens - self._special_tokens))
        processed = self._tokenizer.post_process(encoding, None, add_special_tokens=True)
        return list(processed.ids)

    def encode_content(
        self, texts: Sequence[str]
    ) -> list[tuple[list[int], list[tuple[int, int]], list[int | None]]]:
        """Each text's ids, character offsets and word indices, without special tokens (for
        token classification, which maps tokens back to the text)."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [
            (list(e.ids), [tuple(o) for o in e.offsets], list(e.word_ids))  # type: ignore[misc]
            for e in encodings
        ]

    def special_ids(self) -> tuple[list[int], list[int]]:
        """The ids a single text is wrapped in (``[CLS]`` … ``[SEP]`` for BERT)."""
        marker = self._tokenizer.encode("a", add_special_tokens=False).ids
        wrapped = list(self._tokenizer.encode("a", add_special_tokens=True).ids)
        for cut in range(len(wrapped) - len(marker) + 1):
            if wrapped[cut : cut + len(marker)] == list(marker):
                return wrapped[:cut], wrapped[cut + len(marker) :]
        return [], []

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = True) -> str:
        return str(self._tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens))


def token_limit(max_tokens: int, truncate_to: int | None) -> int:
    """Tokens an input may keep: the model's limit, or less when the request asked to truncate."""
    return max_tokens if truncate_to is None else min(truncate_to, max_tokens)


def check_length(index: int, row: Sequence[int], *, limit: int, max_tokens: int) -> None:
    """The 400 for an input over the limit (only reachable when truncation was not asked)."""
    if len(row) > limit:
        raise InputTooLongError(
            f"input[{index}] has {len(row)} tokens, more than this model's limit of "
            f"{max_tokens} tokens per input (max_input_tokens); shorten it",
            truncatable=True,
        )


def fit_text(
    tokenizer: TextTokenizer,
    index: int,
    text: str,
    ids: list[int],
    *,
    max_tokens: int,
    truncate_to: int | None,
) -> list[int]:
    """``ids`` (``text`` encoded by :meth:`TextTokenizer.encode`) made to respect the limit."""
    limit = token_limit(max_tokens, truncate_to)
    if truncate_to is not None and len(ids) > limit:
        # Truncated as far as it goes: only the special tokens may stay over a tiny limit.
        return tokenizer.encode_truncated(text, limit)
    check_length(index, ids, limit=limit, max_tokens=max_tokens)
    return ids


def prepare_token_ids(
    tokenizer: TextTokenizer,
    inputs: TextInputs,
    *,
    max_tokens: int,
    truncate_to: int | None,
) -> list[list[int]]:
    """Turn a request's inputs into token ids that respect the model's ``max_tokens``.

    ``truncate_to`` is ``None`` when the request did not ask to truncate: an over-long input is
    then a 400 naming the limit, never silently cut.
    """
    limit = token_limit(max_tokens, truncate_to)
    if inputs and isinstance(inputs[0], str):
        texts = [str(text) for text in inputs]
        bound = tokenizer.max_chars(max_tokens)
        for index, text in enumerate(texts):
            if len(text) > bound:
                if truncate_to is None:
                    raise too_many_characters(index, text, max_tokens=max_tokens)
                texts[index] = text[:bound]
        return [
            fit_text(tokenizer, index, text, row, max_tokens=max_tokens, truncate_to=truncate_to)
            for index, (text, row) in enumerate(zip(texts, tokenizer.encode(texts), strict=True))
        ]
    ids = [[int(token) for token in row] for row in inputs]
    for index, row in enumerate(ids):
        bad = next((t for t in row if not 0 <= t < tokenizer.vocab_size), None)
        if bad is not None:
            raise InvalidTokenIdError(
                f"input[{index}] contains token id {bad}, outside this model's vocabulary "
                f"of {tokenizer.vocab_size} tokens. Token arrays are read in the model's own "
                "vocabulary; LangChain's OpenAIEmbeddings sends tiktoken ids unless it is "
                "created with check_embedding_ctx_length=False (then it sends the texts)"
            )
    if truncate_to is not None:
        ids = [row[:limit] for row in ids]
    for index, row in enumerate(ids):
        check_length(index, row, limit=limit, max_tokens=max_tokens)
    return ids
