"""The SDK's ``infer()``, ``rerank()`` and ``similarity()`` against the real server: raw v2
tensors equal the SDK's own ``embed()`` and ``classify()``; rerank orders and scores equal the
cosine ranking of the SDK's own ``embed()`` vectors, on the openai (vLLM) and hf (TEI) shapes,
sync and async."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np
import pytest
from _support.server import ServerProcess
from maaskit import (
    AsyncClient,
    BadRequestError,
    Client,
    InferInput,
    RequestedOutput,
    UnsupportedTaskError,
)
from maaskit.providers import HFProvider

from ._helpers import EMBEDDING_MODEL, SENTIMENT_MODEL, require_model

pytestmark = pytest.mark.e2e

QUERY = "a kitten resting on a rug"
DOCUMENTS = [
    "Stock markets fell sharply today.",
    "The cat sat on the mat.",
    "How to bake bread.",
    "A dog sleeps by the fire.",
]


def _client(server: ServerProcess, provider: str) -> Client:
    if provider == "hf":
        return Client(
            provider=HFProvider(model_in_path=True),
            base_url=f"{server.base_url}/models",
            api_key=server.api_key,
            max_retries=0,
        )
    base = server.v1 if provider == "openai" else server.base_url
    return Client(provider=provider, base_url=base, api_key=server.api_key, max_retries=0)


def _cosine(a: list[float], b: list[float]) -> float:
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


@pytest.fixture(scope="module")
def cosines(reference_server: ServerProcess) -> list[float]:
    """The query's cosine to each document, from the SDK's own embed()."""
    with _client(reference_server, "openai") as client:
        vectors = client.embed(model=EMBEDDING_MODEL, input=[QUERY, *DOCUMENTS]).vectors
    return [_cosine(vectors[0], v) for v in vectors[1:]]


@pytest.mark.parametrize("provider", ["openai", "hf"])
def test_rerank_equals_the_cosine_ranking_of_embed(
    reference_server: ServerProcess, cosines: list[float], provider: str
) -> None:
    expected = sorted(range(len(DOCUMENTS)), key=lambda i: -cosines[i])
    with _client(reference_server, provider) as client:
        ranked = client.rerank(model=EMBEDDING_MODEL, query=QUERY, documents=DOCUMENTS)
        top = client.rerank(
            model=EMBEDDING_MODEL, query=QUERY, documents=DOCUMENTS, top_n=2, return_documents=False
        )
    assert ranked.indices == expected
    assert ranked.scores == pytest.approx([cosines[i] for i in expected], abs=1e-5)
    assert [r.document for r in ranked.results] == [DOCUMENTS[i] for i in expected]
    assert top.indices == expected[:2]
    assert [r.document for r in top.results] == [None, None]
    if provider == "openai":
        assert ranked.model == EMBEDDING_MODEL
        assert ranked.usage is not None
        assert ranked.usage.total_tokens > 0


@pytest.mark.parametrize("provider", ["openai", "hf"])
def test_similarity_equals_cosines_of_embed(
    reference_server: ServerProcess, cosines: list[float], provider: str
) -> None:
    with _client(reference_server, provider) as client:
        similar = client.similarity(model=EMBEDDING_MODEL, source=QUERY, sentences=DOCUMENTS)
    assert similar.scores == pytest.approx(cosines, abs=1e-5)


def test_async_rerank_and_similarity(reference_server: ServerProcess, cosines: list[float]) -> None:
    async def run() -> tuple[list[int], list[float]]:
        async with AsyncClient(
            base_url=reference_server.v1, api_key=reference_server.api_key, max_retries=0
        ) as client:
            ranked = await client.rerank(model=EMBEDDING_MODEL, query=QUERY, documents=DOCUMENTS)
            similar = await client.similarity(
                model=EMBEDDING_MODEL, source=QUERY, sentences=DOCUMENTS
            )
        return ranked.indices, similar.scores

    indices, scores = asyncio.run(run())
    assert indices == sorted(range(len(DOCUMENTS)), key=lambda i: -cosines[i])
    assert scores == pytest.approx(cosines, abs=1e-5)


def test_rerank_errors_are_typed(reference_server: ServerProcess) -> None:
    with _client(reference_server, "openai") as client, pytest.raises(BadRequestError):
        client.rerank(model="tiny-shakespeare", query=QUERY, documents=DOCUMENTS)
    with _client(reference_server, "kserve") as client, pytest.raises(UnsupportedTaskError):
        client.rerank(model=EMBEDDING_MODEL, query=QUERY, documents=DOCUMENTS)


@pytest.mark.parametrize(
    ("binary_data", "binary_inputs"),
    [(False, False), (True, False), (True, True)],
    ids=["json", "binary-out", "binary-in-out"],
)
def test_infer_embedding_tensor_equals_embed(
    reference_server: ServerProcess, binary_data: bool, binary_inputs: bool
) -> None:
    texts = [QUERY, *DOCUMENTS[:2]]
    with _client(reference_server, "openai") as client:
        expected = client.embed(model=EMBEDDING_MODEL, input=texts).vectors
    with _client(reference_server, "kserve") as client:
        answer = client.infer(
            model=EMBEDDING_MODEL,
            inputs=[InferInput(name="text", datatype="BYTES", shape=[3, 1], data=texts)],
            outputs=["embedding"],
            binary_data=binary_data,
            binary_inputs=binary_inputs,
            request_id="req-7",
        )
    assert answer.model_name == EMBEDDING_MODEL
    assert answer.id == "req-7"
    embedding = answer["embedding"]
    assert embedding.datatype == "FP32"
    assert embedding.shape == [3, len(expected[0])]
    array = answer.as_numpy("embedding")
    assert array.shape == (3, len(expected[0]))
    for got, want in zip(array.tolist(), expected, strict=True):
        assert got == pytest.approx(want, abs=1e-5)


def test_infer_named_outputs_of_the_classifier(reference_server: ServerProcess) -> None:
    require_model(reference_server, SENTIMENT_MODEL)
    texts = ["I love this.", "This is awful."]
    with _client(reference_server, "openai") as client:
        expected = client.classify(model=SENTIMENT_MODEL, input=texts)
    with _client(reference_server, "kserve") as client:
        answer = client.infer(
            model=SENTIMENT_MODEL,
            inputs={"text": np.array(texts, dtype=object)},
            outputs=[RequestedOutput(name="label", binary_data=True), "probabilities"],
        )
    assert answer.names == ["label", "probabilities"]
    assert answer["label"].texts() == [r.label for r in expected.results]
    rows = answer["probabilities"].rows()
    for row, result in zip(rows, expected.results, strict=True):
        assert row == pytest.approx(result.probs, abs=1e-5)
        assert math.isclose(sum(row), 1.0, abs_tol=1e-4)


@pytest.mark.parametrize(
    ("inputs", "outputs", "match"),
    [
        ({"text": ["a"]}, ["nope"], "unknown output 'nope'"),
        ({"pixels": [[0.5, 0.25]]}, None, "unknown input"),
    ],
)
def test_infer_errors_are_typed(
    reference_server: ServerProcess, inputs: dict[str, Any], outputs: list[str] | None, match: str
) -> None:
    with (
        _client(reference_server, "kserve") as client,
        pytest.raises(BadRequestError, match=match),
    ):
        client.infer(model=EMBEDDING_MODEL, inputs=inputs, outputs=outputs)


def test_async_infer_equals_sync(reference_server: ServerProcess) -> None:
    texts = [QUERY, DOCUMENTS[1]]

    async def run() -> list[list[float]]:
        async with AsyncClient(
            provider="kserve",
            base_url=reference_server.base_url,
            api_key=reference_server.api_key,
            max_retries=0,
        ) as client:
            answer = await client.infer(
                model=EMBEDDING_MODEL, inputs={"text": [[t] for t in texts]}, binary_inputs=True
            )
        rows: list[list[float]] = answer["embedding"].rows()
        return rows

    got = asyncio.run(run())
    with _client(reference_server, "openai") as client:
        expected = client.embed(model=EMBEDDING_MODEL, input=texts).vectors
    for row, want in zip(got, expected, strict=True):
        assert row == pytest.approx(want, abs=1e-5)
