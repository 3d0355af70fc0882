"""The shipped encoders' storage format keeps their answers: fp16-stored weights, fp32 compute.

References were computed at build time and stored in tests/fixtures (no torch at test time):
sentence-transformers' own vectors for MiniLM, and for the fine-tuned sentiment model (whose
fp32 weights were never kept) the logits of its int8 weights dequantized exactly, in fp32.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from maaskit_server._build import _common
from maaskit_server._build.fp16_storage import MIN_FP16_ELEMENTS

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "reference_server/maaskit_server/models"
FIXTURES = ROOT / "tests/fixtures"
ENCODERS = ("all-minilm-l6-v2", "sentiment")


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def minilm() -> _common.OnnxEncoder:
    return _common.OnnxEncoder(MODELS / "all-minilm-l6-v2")


@pytest.fixture(scope="module")
def sentiment() -> _common.OnnxEncoder:
    return _common.OnnxEncoder(MODELS / "sentiment")


@pytest.mark.parametrize("key", ["", "short_"])
def test_minilm_vectors_match_sentence_transformers(minilm: _common.OnnxEncoder, key: str) -> None:
    ref = fixture("minilm_reference.json")
    expected = np.asarray(ref[f"{key}vectors"], dtype=np.float32)
    cosines = _common.row_cosines(expected, minilm.embed(ref[f"{key}sentences"]))
    assert float(cosines.min()) >= 0.999


def test_minilm_vector_of_a_text_does_not_depend_on_its_batch(
    minilm: _common.OnnxEncoder,
) -> None:
    ref = fixture("minilm_reference.json")
    texts = ref["sentences"] + ref["short_sentences"]
    together = minilm.embed(texts)
    alone = np.concatenate([minilm.embed([text]) for text in texts])
    assert float(np.abs(together - alone).max()) <= 1e-6


def test_sentiment_logits_match_its_exact_int8_weights(sentiment: _common.OnnxEncoder) -> None:
    ref = fixture("sentiment_reference.json")
    expected = np.asarray(ref["logits"], dtype=np.float32)
    logits = sentiment.logits(ref["texts"])
    assert (logits.argmax(axis=1) == expected.argmax(axis=1)).all()
    assert float(np.abs(logits - expected).max()) <= ref["max_logit_diff"]


def test_sentiment_logits_of_a_text_do_not_depend_on_its_batch(
    sentiment: _common.OnnxEncoder,
) -> None:
    texts = fixture("sentiment_reference.json")["texts"]
    together = sentiment.logits(texts)
    alone = np.concatenate([sentiment.logits([text]) for text in texts])
    assert float(np.abs(together - alone).max()) <= 1e-6


@pytest.mark.parametrize("name", ENCODERS)
def test_encoders_compute_in_fp32_from_fp16_storage(name: str) -> None:
    model = onnx.load(str(MODELS / name / "model.onnx"), load_external_data=False)
    ops = {node.op_type for node in model.graph.node}
    assert "MatMulNBits" not in ops  # no int8 activations: answers independent of the batch
    large = [i for i in model.graph.initializer if int(np.prod(i.dims)) >= MIN_FP16_ELEMENTS]
    stored = {init.data_type for init in large}
    assert onnx.TensorProto.FLOAT16 in stored
    assert onnx.TensorProto.FLOAT not in stored  # every large weight is fp16 or int8


def test_default_models_fit_the_size_budget() -> None:
    sizes = {folder.name: _common.size_mb(folder) for folder in MODELS.iterdir() if folder.is_dir()}
    assert sum(sizes[name] for name in ENCODERS) <= 75
    assert sum(sizes.values()) <= 110
