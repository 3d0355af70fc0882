"""A ``truncate_prompt_tokens`` below the model's special tokens truncates as far as it goes
(the special tokens alone), as vLLM does; it was refused as "more than this model's limit of
256", a limit the input never passed."""

from __future__ import annotations

import pytest
from _support.server import MODELS_DIR
from maaskit_server.tokenization import TextTokenizer, prepare_token_ids

MAX_TOKENS = 256


@pytest.fixture(scope="module")
def bert() -> TextTokenizer:
    return TextTokenizer(MODELS_DIR / "all-minilm-l6-v2" / "tokenizer.json")


@pytest.mark.parametrize("truncate_to", [1, 2])
def test_a_limit_below_the_special_tokens_keeps_them_alone(
    bert: TextTokenizer, truncate_to: int
) -> None:
    start, end = bert.special_ids()
    ids = prepare_token_ids(
        bert, ["hello big world"], max_tokens=MAX_TOKENS, truncate_to=truncate_to
    )
    assert ids == [start + end]


def test_a_limit_above_the_special_tokens_keeps_the_start(bert: TextTokenizer) -> None:
    start, end = bert.special_ids()
    limit = len(start) + len(end) + 1
    ids = prepare_token_ids(bert, ["hello big world"], max_tokens=MAX_TOKENS, truncate_to=limit)
    assert len(ids[0]) == limit
    assert ids[0][: len(start)] == start
    assert ids[0][-len(end) :] == end


def test_token_ids_are_cut_to_a_one_token_limit(bert: TextTokenizer) -> None:
    assert prepare_token_ids(bert, [[5, 6, 7]], max_tokens=MAX_TOKENS, truncate_to=1) == [[5]]
