"""Answers of the mocked rerank, score/similarity and raw-tensor infer routes.

Scores are cosines of ``fake_vector`` embeddings, so a mocked ranking is the one the mocked
embeddings give (equal texts score 1.0), as on the reference server's bi-encoder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from . import _mock_bodies as bodies

__all__ = ["cosine", "infer_answer", "tei_rerank", "tei_similarity", "vllm_rerank", "vllm_score"]

_DIM = 64


def cosine(a: str, b: str) -> float:
    # fake_vector gives unit vectors: the dot product is the cosine.
    pairs = zip(bodies.fake_vector(a, _DIM), bodies.fake_vector(b, _DIM), strict=True)
    return sum(x * y for x, y in pairs)


def _documents(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(item.get("text", "")) if isinstance(item, Mapping) else str(item) for item in items]


def vllm_rerank(request: httpx.Request) -> httpx.Response:
    body = bodies.request_json(request) or {}
    query, documents = str(body.get("query", "")), _documents(body.get("documents", []))
    scores = [cosine(query, document) for document in documents]
    order = sorted(range(len(documents)), key=lambda i: -scores[i])[: body.get("top_n") or None]
    results = []
    for index in order:
        item: dict[str, Any] = {"index": index, "relevance_score": scores[index]}
        if body.get("return_documents", True):
            item["document"] = {"text": documents[index]}
        results.append(item)
    usage = {"total_tokens": sum(len(t.split()) for t in [query, *documents])}
    model = body.get("model", "mock-model")
    return httpx.Response(
        200, json={"id": "rerank-mock", "model": model, "usage": usage, "results": results}
    )


def vllm_score(request: httpx.Request) -> httpx.Response:
    body = bodies.request_json(request) or {}
    left, right = _documents(body.get("text_1", "")), _documents(body.get("text_2", []))
    if len(left) == 1:
        left = left * len(right)
    data = [
        {"index": i, "object": "score", "score": cosine(a, b)}
        for i, (a, b) in enumerate(zip(left, right, strict=False))
    ]
    model = body.get("model", "mock-model")
    return httpx.Response(
        200, json={"id": "score-mock", "object": "list", "model": model, "data": data}
    )


def tei_rerank(request: httpx.Request) -> httpx.Response:
    body = bodies.request_json(request) or {}
    query, texts = str(body.get("query", "")), _documents(body.get("texts", []))
    items = []
    for index, text in enumerate(texts):
        item: dict[str, Any] = {"index": index, "score": cosine(query, text)}
        if body.get("return_text"):
            item["text"] = text
        items.append(item)
    items.sort(key=lambda item: -float(item["score"]))
    return httpx.Response(200, json=items)


def tei_similarity(request: httpx.Request) -> httpx.Response:
    inputs = (bodies.request_json(request) or {}).get("inputs") or {}
    source = str(inputs.get("source_sentence", ""))
    return httpx.Response(
        200, json=[cosine(source, text) for text in _documents(inputs.get("sentences", []))]
    )


def infer_answer(
    request: httpx.Request, model: str, outputs: Sequence[Mapping[str, Any]]
) -> httpx.Response:
    """The given outputs, or the ones the request names (a 400 in KServe's shape for a name
    the model does not have)."""
    body = bodies.request_json(request) or {}
    by_name = {str(output["name"]): dict(output) for output in outputs}
    wanted = [str(item.get("name")) for item in body.get("outputs") or []]
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        message = f"unknown output {unknown[0]!r}; outputs: {', '.join(by_name)}"
        return httpx.Response(400, json={"error": message})
    chosen = [by_name[name] for name in wanted] if wanted else list(by_name.values())
    answer: dict[str, Any] = {"model_name": model, "model_version": "1", "outputs": chosen}
    if body.get("id") is not None:
        answer["id"] = body["id"]
    return httpx.Response(200, json=answer)
