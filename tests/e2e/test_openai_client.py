"""The official ``openai`` package against the real reference server."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openai
import pytest
from _support.server import ServerProcess

from ._helpers import EMBEDDING_MODEL

pytestmark = pytest.mark.e2e

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "minilm_reference.json"


@pytest.fixture(scope="module")
def client(reference_server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=reference_server.v1, api_key=reference_server.api_key)


def test_models_list_names_the_default_models(client: openai.OpenAI) -> None:
    ids = {model.id for model in client.models.list()}
    assert EMBEDDING_MODEL in ids


def test_embeddings_base64_default_and_float_agree(client: openai.OpenAI) -> None:
    texts = ["A man is eating food.", "The new movie is awesome."]
    default = client.embeddings.create(model=EMBEDDING_MODEL, input=texts)  # base64 on the wire
    floats = client.embeddings.create(model=EMBEDDING_MODEL, input=texts, encoding_format="float")
    assert [item.index for item in default.data] == [0, 1]
    a = np.array([item.embedding for item in default.data])
    b = np.array([item.embedding for item in floats.data])
    assert a.shape == (2, 384)
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    assert default.usage.prompt_tokens == floats.usage.prompt_tokens > 0


def test_embeddings_match_sentence_transformers(client: openai.OpenAI) -> None:
    if not REFERENCE.exists():
        pytest.fail("tests/fixtures/minilm_reference.json is missing")
    reference = json.loads(REFERENCE.read_text())
    response = client.embeddings.create(model=EMBEDDING_MODEL, input=reference["sentences"])
    ours = np.array([item.embedding for item in response.data])
    theirs = np.array(reference["vectors"])
    cosine = (ours * theirs).sum(axis=1) / (
        np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1)
    )
    assert cosine.min() >= 0.99, cosine


def test_token_array_input_equals_text_input(client: openai.OpenAI) -> None:
    from _support.server import MODELS_DIR
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(MODELS_DIR / EMBEDDING_MODEL / "tokenizer.json"))
    tokenizer.no_truncation()
    ids = tokenizer.encode("Token arrays are accepted too.").ids
    by_text = client.embeddings.create(
        model=EMBEDDING_MODEL, input="Token arrays are accepted too.", encoding_format="float"
    )
    by_ids = client.embeddings.create(model=EMBEDDING_MODEL, input=[ids], encoding_format="float")
    np.testing.assert_allclose(by_text.data[0].embedding, by_ids.data[0].embedding, atol=1e-6)
    assert by_text.usage.prompt_tokens == len(ids)


def test_dimensions_only_accepts_the_native_size(client: openai.OpenAI) -> None:
    ok = client.embeddings.create(model=EMBEDDING_MODEL, input="x", dimensions=384)
    assert len(ok.data[0].embedding) == 384
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model=EMBEDDING_MODEL, input="x", dimensions=128)
    assert caught.value.code == "unsupported_dimensions"


def test_client_errors_are_typed(reference_server: ServerProcess) -> None:
    wrong = openai.OpenAI(base_url=reference_server.v1, api_key="wrong-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    right = openai.OpenAI(base_url=reference_server.v1, api_key=reference_server.api_key)
    with pytest.raises(openai.NotFoundError):
        right.embeddings.create(model="no-such-model", input="x")
