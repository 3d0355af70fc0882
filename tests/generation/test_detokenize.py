from __future__ import annotations

from maaskit_server.generation.detokenize import IncrementalDetokenizer
from tokenizers import Tokenizer

TEXT = "To be — naïve café, 日本語 and 🎉!"


def test_multibyte_characters_are_never_split(byte_level_tokenizer: Tokenizer) -> None:
    ids = byte_level_tokenizer.encode(TEXT).ids
    # The corpus never saw these characters, so they are spelled byte by byte.
    assert len(ids) > len(TEXT.split())
    detokenizer = IncrementalDetokenizer(byte_level_tokenizer)
    chunks = [detokenizer.step(i) for i in ids]
    assert "" in chunks  # some tokens completed no character
    assert all("\ufffd" not in chunk for chunk in chunks)
    assert "".join(chunks) + detokenizer.flush() == TEXT
    assert "🎉" in chunks  # the four bytes of the emoji arrive as one chunk


def test_continuation_after_a_prompt_keeps_its_leading_space(
    byte_level_tokenizer: Tokenizer,
) -> None:
    prompt = byte_level_tokenizer.encode("To be, or").ids
    continuation = byte_level_tokenizer.encode(" not to be").ids
    detokenizer = IncrementalDetokenizer(byte_level_tokenizer, prompt)
    assert "".join(detokenizer.step(i) for i in continuation) == " not to be"


def test_an_incomplete_character_at_the_end_is_flushed_lossily(
    byte_level_tokenizer: Tokenizer,
) -> None:
    ids = byte_level_tokenizer.encode("a🎉").ids
    detokenizer = IncrementalDetokenizer(byte_level_tokenizer)
    text = "".join(detokenizer.step(i) for i in ids[:-1])
    assert text == "a"
    assert detokenizer.flush().startswith("\ufffd")
    assert detokenizer.flush() == ""


def test_special_tokens_are_not_emitted(byte_level_tokenizer: Tokenizer) -> None:
    eos = byte_level_tokenizer.token_to_id("<|endoftext|>")
    assert eos is not None
    detokenizer = IncrementalDetokenizer(byte_level_tokenizer)
    text = "".join(detokenizer.step(i) for i in [*byte_level_tokenizer.encode("be").ids, eos])
    assert text == "be"
