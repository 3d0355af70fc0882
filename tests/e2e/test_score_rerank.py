"""Similarity and reranking on the embedding model, in vLLM's, Cohere/Jina's and TEI's shapes;
the scores are the cosines of ``/v1/embeddings`` vectors, so the ranking is theirs."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from _support.server import ServerProcess

pytestmark = pytest.mark.e2e

MODEL = "all-minilm-l6-v2"
QUERY = "a kitten resting on a rug"
DOCUMENTS = ["Stock markets fell sharply today.", "The cat sat on the mat.", "How to bake bread."]


def _post(server: ServerProcess, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.base_url + path, json=body, headers=server.headers, timeout=60)


@pytest.fixture(scope="module")
def cosines(reference_server: ServerProcess) -> list[float]:
    answer = _post(
        reference_server, "/v1/embeddings", {"model": MODEL, "input": [QUERY, *DOCUMENTS]}
    ).json()
    vectors = [np.asarray(item["embedding"], np.float64) for item in answer["data"]]
    query = vectors[0]
    return [float(query @ v / (np.linalg.norm(query) * np.linalg.norm(v))) for v in vectors[1:]]


@pytest.mark.parametrize("path", ["/v1/score", "/score"])
def test_score_one_against_many(
    reference_server: ServerProcess, cosines: list[float], path: str
) -> None:
    answer = _post(reference_server, path, {"model": MODEL, "text_1": QUERY, "text_2": DOCUMENTS})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["object"] == "list"
    assert body["model"] == MODEL
    assert [item["index"] for item in body["data"]] == [0, 1, 2]
    assert [item["score"] for item in body["data"]] == pytest.approx(cosines, abs=1e-5)
    assert body["usage"]["prompt_tokens"] > 0


def test_score_pairwise_lists(reference_server: ServerProcess, cosines: list[float]) -> None:
    body = {"model": MODEL, "text_1": [QUERY, QUERY], "text_2": DOCUMENTS[:2]}
    scores = [item["score"] for item in _post(reference_server, "/v1/score", body).json()["data"]]
    assert scores == pytest.approx(cosines[:2], abs=1e-5)
    body["text_2"] = DOCUMENTS
    assert _post(reference_server, "/v1/score", body).status_code == 400


@pytest.mark.parametrize("path", ["/v1/rerank", "/rerank", "/v2/rerank"])
def test_rerank_orders_by_cosine(
    reference_server: ServerProcess, cosines: list[float], path: str
) -> None:
    documents: list[Any] = [DOCUMENTS[0], {"text": DOCUMENTS[1]}, DOCUMENTS[2]]  # Cohere objects
    body = {"model": MODEL, "query": QUERY, "documents": documents, "top_n": 2}
    answer = _post(reference_server, path, body)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    expected = sorted(range(3), key=lambda i: -cosines[i])[:2]
    assert [item["index"] for item in results] == expected
    assert expected[0] == 1  # the cat, for this query
    assert results[0]["document"] == {"text": DOCUMENTS[1]}
    assert [item["relevance_score"] for item in results] == pytest.approx(
        [cosines[i] for i in expected], abs=1e-5
    )


def test_tei_rerank_and_similarity(reference_server: ServerProcess, cosines: list[float]) -> None:
    ranked = _post(
        reference_server,
        f"/models/{MODEL}/rerank",
        {"query": QUERY, "texts": DOCUMENTS, "return_text": True},
    ).json()
    assert [item["index"] for item in ranked] == sorted(range(3), key=lambda i: -cosines[i])
    assert ranked[0]["text"] == DOCUMENTS[1]
    similar = _post(
        reference_server,
        f"/models/{MODEL}/similarity",
        {"inputs": {"source_sentence": QUERY, "sentences": DOCUMENTS}},
    ).json()
    assert similar == pytest.approx(cosines, abs=1e-5)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/rerank", {"model": MODEL, "query": "", "documents": ["a"]}),
        ("/v1/rerank", {"model": MODEL, "query": "q", "documents": []}),
        ("/v1/rerank", {"model": MODEL, "query": "q", "documents": [3]}),
        ("/v1/rerank", {"model": MODEL, "query": "q", "documents": ["a"], "top_n": 0}),
        ("/v1/score", {"model": MODEL, "text_1": "q"}),
        ("/v1/score", {"model": "tiny-shakespeare", "text_1": "q", "text_2": "a"}),
    ],
)
def test_bad_bodies_are_4xx(reference_server: ServerProcess, path: str, body: Any) -> None:
    response = _post(reference_server, path, body)
    assert 400 <= response.status_code < 500, response.text


def test_models_say_scores_come_from_the_bi_encoder(reference_server: ServerProcess) -> None:
    card = httpx.get(f"{reference_server.v1}/models/{MODEL}", headers=reference_server.headers)
    assert card.json()["scoring"] == "bi-encoder cosine"
