"""``tritonclient.http`` (the official KServe v2 / Triton client) against the real server."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.http as triton
from _support.server import ServerProcess
from e2e._helpers import require_model
from tritonclient.utils import InferenceServerException

from ._helpers import (
    EMBEDDING_MODEL,
    GENERATION_MODEL,
    PROMPT,
    SENTIMENT_MODEL,
    TEXTS,
    TOLERANCE,
    openai_classes,
    openai_completion,
    openai_vectors,
)

pytestmark = [pytest.mark.e2e, pytest.mark.conformance]


@pytest.fixture(scope="module")
def client(reference_server: ServerProcess) -> triton.InferenceServerClient:
    url = reference_server.base_url.removeprefix("http://")
    return triton.InferenceServerClient(url, connection_timeout=30.0, network_timeout=60.0)


def headers(server: ServerProcess) -> dict[str, str]:
    # A fresh dict per call: tritonclient writes its own headers into the one it is given.
    return dict(server.headers)


def text_input(name: str, texts: list[str], binary: bool) -> triton.InferInput:
    tensor = triton.InferInput(name, [len(texts)], "BYTES")
    tensor.set_data_from_numpy(np.array([t.encode() for t in texts], dtype=object), binary)
    return tensor


def test_server_is_live_and_ready_and_describes_itself(
    client: triton.InferenceServerClient, reference_server: ServerProcess
) -> None:
    assert client.is_server_live(headers=headers(reference_server))
    assert client.is_server_ready(headers=headers(reference_server))
    assert client.is_model_ready(EMBEDDING_MODEL, headers=headers(reference_server))
    assert not client.is_model_ready("no-such-model", headers=headers(reference_server))
    metadata = client.get_server_metadata(headers=headers(reference_server))
    assert metadata["name"] == "maaskit"
    assert {"binary_tensor_data", "generate"} <= set(metadata["extensions"])


def test_model_metadata_names_the_tensors(
    client: triton.InferenceServerClient, reference_server: ServerProcess
) -> None:
    metadata = client.get_model_metadata(EMBEDDING_MODEL, headers=headers(reference_server))
    assert metadata["name"] == EMBEDDING_MODEL
    assert metadata["versions"] == ["1"]
    assert metadata["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert metadata["outputs"] == [{"name": "embedding", "datatype": "FP32", "shape": [-1, 384]}]
    versioned = client.get_model_metadata(
        EMBEDDING_MODEL, model_version="1", headers=headers(reference_server)
    )
    assert versioned == metadata
    index = client.get_model_repository_index(headers=headers(reference_server))
    assert {"name": EMBEDDING_MODEL, "version": "1", "state": "READY"} in index


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_infer_embeddings_equal_the_openai_route(
    client: triton.InferenceServerClient, reference_server: ServerProcess, binary: bool
) -> None:
    outputs = None if binary else [triton.InferRequestedOutput("embedding", binary_data=False)]
    result = client.infer(
        EMBEDDING_MODEL,
        [text_input("text", TEXTS, binary)],
        outputs=outputs,
        headers=headers(reference_server),
    )
    vectors = result.as_numpy("embedding")
    assert vectors is not None
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(vectors, openai_vectors(reference_server, TEXTS), atol=TOLERANCE)
    response = result.get_response()
    assert response["model_name"] == EMBEDDING_MODEL
    assert response["model_version"] == "1"


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_compressed_requests_are_inflated(
    client: triton.InferenceServerClient, reference_server: ServerProcess, algorithm: str
) -> None:
    result = client.infer(
        EMBEDDING_MODEL,
        [text_input("text", TEXTS, True)],
        request_compression_algorithm=algorithm,
        headers=headers(reference_server),
    )
    vectors = result.as_numpy("embedding")
    assert vectors is not None
    np.testing.assert_allclose(vectors, openai_vectors(reference_server, TEXTS), atol=TOLERANCE)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_infer_classification_equals_the_openai_route(
    client: triton.InferenceServerClient, reference_server: ServerProcess, binary: bool
) -> None:
    require_model(reference_server, SENTIMENT_MODEL)
    metadata = client.get_model_metadata(SENTIMENT_MODEL, headers=headers(reference_server))
    names = metadata["parameters"]["labels"]
    assert [o["name"] for o in metadata["outputs"]] == ["probabilities", "label", "labels"]
    outputs = [
        triton.InferRequestedOutput(name, binary_data=binary)
        for name in ("probabilities", "label", "labels")
    ]
    result = client.infer(
        SENTIMENT_MODEL,
        [text_input("text", TEXTS, binary)],
        outputs=outputs,
        headers=headers(reference_server),
    )
    probabilities = result.as_numpy("probabilities")
    labels = result.as_numpy("labels")
    top = result.as_numpy("label")
    assert probabilities is not None
    assert labels is not None
    assert top is not None
    assert [x.decode() if isinstance(x, bytes) else x for x in labels] == names
    expected = openai_classes(reference_server, TEXTS)
    for row, label, scores in zip(probabilities, top, expected, strict=True):
        np.testing.assert_allclose(row, [scores[n] for n in names], atol=TOLERANCE)
        label_text = label.decode() if isinstance(label, bytes) else label
        assert label_text == max(scores, key=scores.__getitem__)


def test_infer_generation_equals_openai_greedy_text(
    client: triton.InferenceServerClient, reference_server: ServerProcess
) -> None:
    require_model(reference_server, GENERATION_MODEL)
    result = client.infer(
        GENERATION_MODEL,
        [text_input("text_input", [PROMPT], True)],
        parameters={"max_tokens": 8, "temperature": 0},
        headers=headers(reference_server),
    )
    output = result.as_numpy("text_output")
    assert output is not None
    assert output[0].decode() == openai_completion(reference_server)


def test_unknown_input_name_and_unknown_model_are_client_errors(
    client: triton.InferenceServerClient, reference_server: ServerProcess
) -> None:
    with pytest.raises(InferenceServerException) as unknown_input:
        client.infer(
            EMBEDDING_MODEL, [text_input("prompt", TEXTS, True)], headers=headers(reference_server)
        )
    assert unknown_input.value.status() == "400"
    assert "prompt" in str(unknown_input.value.message())
    with pytest.raises(InferenceServerException) as unknown_model:
        client.infer(
            "no-such-model", [text_input("text", TEXTS, True)], headers=headers(reference_server)
        )
    assert unknown_model.value.status() == "404"
    with pytest.raises(InferenceServerException) as unknown_version:
        client.get_model_metadata(
            EMBEDDING_MODEL, model_version="7", headers=headers(reference_server)
        )
    assert unknown_version.value.status() == "404"
    wrong_type = triton.InferInput("text", [2], "FP32")
    wrong_type.set_data_from_numpy(np.array([1.0, 2.0], dtype=np.float32))
    with pytest.raises(InferenceServerException) as wrong_datatype:
        client.infer(EMBEDDING_MODEL, [wrong_type], headers=headers(reference_server))
    assert wrong_datatype.value.status() == "400"
    assert "BYTES" in str(wrong_datatype.value.message())
    assert client.is_server_live(headers=headers(reference_server))
    result = client.infer(
        EMBEDDING_MODEL, [text_input("text", ["ok"], True)], headers=headers(reference_server)
    )
    embedding = result.as_numpy("embedding")
    assert embedding is not None
    assert embedding.shape == (1, 384)
