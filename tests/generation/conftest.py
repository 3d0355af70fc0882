"""Shared fixtures of the generation tests.

Model-dependent tests use the committed default model; they skip while it is absent.
``MAASKIT_TEST_LM_DIR`` points them at another optimum ``text-generation-with-past`` export.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from generation.server import COMMITTED_LM, lm_folder

GREEDY_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_shakespeare_greedy.json"


@pytest.fixture(scope="session")
def lm_dir() -> Path:
    folder = lm_folder()
    if folder is None:
        pytest.fail(f"the default model tiny-shakespeare is missing ({COMMITTED_LM})")
    return folder


@pytest.fixture(scope="session")
def greedy_fixture() -> dict[str, Any]:
    """Prompt ids and transformers' greedy continuations, made when the model was trained."""
    if not GREEDY_FIXTURE.is_file():
        pytest.fail("tests/fixtures/tiny_shakespeare_greedy.json is missing")
    data: dict[str, Any] = json.loads(GREEDY_FIXTURE.read_text(encoding="utf-8"))
    assert len(data["cases"]) >= 3
    return data


@pytest.fixture(scope="session")
def byte_level_tokenizer() -> Tokenizer:
    """A real GPT-2-style byte-level BPE, trained here so the tests need no model folder."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>"],
    )
    corpus = [
        "To be, or not to be, that is the question.",
        "Whether 'tis nobler in the mind to suffer the slings and arrows.",
        "café naïve résumé",
    ]
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    return tokenizer
