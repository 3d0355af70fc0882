"""``rerank()`` and ``similarity()`` on vLLM's (openai provider) and TEI's (hf provider) shapes,
sync and async. The bodies are the ones vLLM's ``/v1/rerank`` / ``/v1/score`` and TEI's
``/rerank`` / ``/similarity`` document."""

from __future__ import annotations

import json
from typing import Any

import httpx
import maaskit
import pytest
import respx
from maaskit.privacy import Masker
from maaskit.providers import HFProvider

from .conftest import BASE_URL, Harness

TEI = "http://tei.test"
DOCS = ["The capital of Brazil is Brasilia.", "Paris is in France.", "Horses eat grass."]

VLLM_RERANK = {
    "id": "rerank-6b2e",
    "model": "BAAI/bge-reranker-base",
    "usage": {"total_tokens": 38},
    "results": [
        {"index": 1, "document": {"text": DOCS[1]}, "relevance_score": 0.99853515625},
        {"index": 0, "document": {"text": DOCS[0]}, "relevance_score": 0.0005860328674316406},
    ],
}
VLLM_SCORE = {
    "id": "score-9a1f",
    "object": "list",
    "created": 1733000000,
    "model": "BAAI/bge-reranker-v2-m3",
    "data": [
        {"index": 1, "object": "score", "score": 0.0003},
        {"index": 0, "object": "score", "score": 1.0},
    ],
    "usage": {"prompt_tokens": 18, "total_tokens": 18, "completion_tokens": 0},
}


def sent(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


async def test_vllm_rerank(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{BASE_URL}/rerank").respond(200, json=VLLM_RERANK)
    client = harness.client()
    ranked = await harness.call(
        client.rerank,
        model="BAAI/bge-reranker-base",
        query="What is the capital of France?",
        documents=DOCS,
        top_n=2,
        extra_body={"truncate_prompt_tokens": 256},
    )
    assert sent(route) == {
        "model": "BAAI/bge-reranker-base",
        "query": "What is the capital of France?",
        "documents": DOCS,
        "return_documents": True,
        "top_n": 2,
        "truncate_prompt_tokens": 256,
    }
    assert isinstance(ranked, maaskit.RerankResponse)
    assert ranked.indices == [1, 0]
    assert ranked.scores == [0.99853515625, 0.0005860328674316406]
    assert ranked.results[0].document == DOCS[1]
    assert ranked.id == "rerank-6b2e"
    assert ranked.usage is not None
    assert ranked.usage.total_tokens == 38
    assert ranked.usage.prompt_tokens == 38  # vLLM reports total_tokens only


async def test_vllm_score_is_put_in_input_order(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/score").respond(200, json=VLLM_SCORE)
    similar = await harness.call(
        harness.client().similarity,
        model="BAAI/bge-reranker-v2-m3",
        source="What is the capital of France?",
        sentences=["Paris", "Horses"],
    )
    assert sent(route) == {
        "model": "BAAI/bge-reranker-v2-m3",
        "text_1": "What is the capital of France?",
        "text_2": ["Paris", "Horses"],
    }
    assert similar.scores == [1.0, 0.0003]
    assert similar.usage is not None
    assert similar.usage.prompt_tokens == 18


def tei(harness: Harness) -> Any:
    return harness.client(provider=HFProvider(), base_url=TEI)


async def test_tei_rerank_top_n_is_kept_by_the_client(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    answer = [{"index": 2, "score": 0.1}, {"index": 1, "score": 0.9}, {"index": 0, "score": 0.5}]
    route = respx_mock.post(f"{TEI}/rerank").respond(200, json=answer)
    ranked = await harness.call(
        tei(harness).rerank, model="bge", query="France", documents=DOCS, top_n=2
    )
    assert sent(route) == {"query": "France", "texts": DOCS, "return_text": True}
    assert ranked.indices == [1, 0]
    assert ranked.scores == [0.9, 0.5]
    # TEI echoed no text: the client fills in the document it sent.
    assert [r.document for r in ranked.results] == [DOCS[1], DOCS[0]]


async def test_tei_similarity(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{TEI}/similarity").respond(200, json=[0.75, 0.25])
    similar = await harness.call(
        tei(harness).similarity, model="bge", source="a", sentences=["b", "c"]
    )
    assert sent(route) == {"inputs": {"source_sentence": "a", "sentences": ["b", "c"]}}
    assert similar.scores == [0.75, 0.25]


async def test_model_in_path_routes(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{TEI}/models/bge/rerank").respond(200, json=[])
    client = harness.client(provider=HFProvider(model_in_path=True), base_url=f"{TEI}/models")
    ranked = await harness.call(client.rerank, model="bge", query="q", documents=["d"])
    assert route.called
    assert ranked.results == []


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        ([{"index": 5, "score": 0.1}], "out of range for 3 documents"),
        ([{"index": 0, "score": "high"}], "a score must be a number"),
        ({"results": []}, "must be a list"),
    ],
)
async def test_bad_rerank_answers_are_response_validation_errors(
    harness: Harness, respx_mock: respx.MockRouter, answer: Any, match: str
) -> None:
    respx_mock.post(f"{TEI}/rerank").respond(200, json=answer)
    with pytest.raises(maaskit.ResponseValidationError, match=match):
        await harness.call(tei(harness).rerank, model="bge", query="q", documents=DOCS)


async def test_similarity_score_count_must_match(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{TEI}/similarity").respond(200, json=[0.5])
    with pytest.raises(maaskit.ResponseValidationError, match="1 similarity scores for 2"):
        await harness.call(tei(harness).similarity, model="m", source="a", sentences=["b", "c"])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"query": "", "documents": DOCS}, ValueError),
        ({"query": "q", "documents": []}, ValueError),
        ({"query": "q", "documents": [1]}, TypeError),
        ({"query": "q", "documents": DOCS, "top_n": 0}, ValueError),
        ({"query": "q", "documents": DOCS, "return_documents": "yes"}, TypeError),
    ],
)
async def test_bad_rerank_arguments_send_nothing(
    harness: Harness, respx_mock: respx.MockRouter, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        await harness.call(harness.client().rerank, model="m", **kwargs)
    assert not respx_mock.calls


@pytest.mark.parametrize("provider", ["kserve", "ollama"])
async def test_providers_without_rerank_refuse_it(harness: Harness, provider: str) -> None:
    client = harness.client(provider=provider)
    with pytest.raises(maaskit.UnsupportedTaskError, match="no 'rerank' task"):
        await harness.call(client.rerank, model="m", query="q", documents=DOCS)
    with pytest.raises(maaskit.UnsupportedTaskError, match="no 'similarity' task"):
        await harness.call(client.similarity, model="m", source="q", sentences=DOCS)


async def test_privacy_masks_query_and_documents_and_results_carry_the_callers_texts(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    documents = ["Mail alice@example.com today", "Nothing personal here"]
    echoed: list[str] = []

    def answer(request: Any) -> Any:
        body = json.loads(request.content)
        echoed.extend([body["query"], *body["documents"]])
        results = [
            {"index": i, "relevance_score": 1.0 - i / 10, "document": {"text": text}}
            for i, text in enumerate(body["documents"])
        ]
        return httpx.Response(200, json={"model": "m", "results": results})

    respx_mock.post(f"{BASE_URL}/rerank").mock(side_effect=answer)
    score = respx_mock.post(f"{BASE_URL}/score").respond(
        200, json={"data": [{"index": 0, "score": 0.5}, {"index": 1, "score": 0.25}]}
    )
    client = harness.client(privacy=Masker())
    ranked = await harness.call(
        client.rerank, model="m", query="Who wrote to bob@example.org?", documents=documents
    )
    assert echoed == ["Who wrote to <EMAIL_1>?", "Mail <EMAIL_2> today", "Nothing personal here"]
    assert [r.document for r in ranked.results] == documents

    await harness.call(client.similarity, model="m", source="bob@example.org", sentences=documents)
    sent_body = json.loads(score.calls.last.request.content)
    assert "example" not in json.dumps(sent_body)
