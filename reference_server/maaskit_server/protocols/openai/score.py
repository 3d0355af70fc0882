"""Similarity and reranking on an embedding model: vLLM's ``/v1/score`` and ``/v1/rerank``
(also ``/score``, ``/rerank``, ``/v2/rerank``; Cohere's and Jina's bodies), TEI's ``/rerank``
and ``/similarity`` under ``/models/{name}``.

The scores come from the bi-encoder: the cosine of the two texts' embeddings, each embedded on
its own (vLLM does the same for embedding models without a cross-encoder head). They order
documents as a cross-encoder would only roughly; what they guarantee is that reranking equals
the cosine ranking computed from ``/v1/embeddings``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..._json import JSONResponse
from ...errors import bad_request
from ...openapi import documented
from ...runtimes.embeddings import EmbeddingRuntime
from ...state import get_state
from ..requests import (
    TRUNCATE_PROMPT_TOKENS_SCHEMA,
    integral,
    read_json_object,
    required_string,
    truncation,
)


async def _cosines(
    request: Request, model: str, body: dict[str, Any], left: list[str], right: list[str]
) -> tuple[list[float], int]:
    """Cosine of ``left[i]`` and ``right[i]`` for every i; the texts are embedded once each."""
    state = get_state(request)
    runtime = state.repository.runtime(model, EmbeddingRuntime)
    unique = list(dict.fromkeys([*left, *right]))
    limit = state.settings.max_inputs_per_request
    if len(unique) > limit:
        raise bad_request(
            f"This request has {len(unique)} distinct texts, more than the limit of {limit}.",
            code="too_many_inputs",
        )
    embedded = await runtime.embed(unique, truncate_to=truncation(body, runtime.spec))
    vectors = {
        text: np.asarray(v, np.float64) for text, v in zip(unique, embedded.vectors, strict=True)
    }

    def cosine(a: str, b: str) -> float:
        x, y = vectors[a], vectors[b]
        norm = float(np.linalg.norm(x) * np.linalg.norm(y))
        return float(x @ y / norm) if norm else 0.0

    return [cosine(a, b) for a, b in zip(left, right, strict=True)], embedded.prompt_tokens


# What _texts accepts, for the OpenAPI document: described next to the check so the two cannot
# drift (a text, or a non-empty list of texts or of Cohere's and Jina's {"text"} documents).
_TEXT_ITEM: dict[str, Any] = {
    "anyOf": [
        {"type": "string"},
        {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
    ]
}
TEXTS_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": _TEXT_ITEM}]
}
# The fields truncation() reads, which every route here passes its body to.
_TRUNCATION_FIELDS: dict[str, Any] = {
    "truncate_prompt_tokens": TRUNCATE_PROMPT_TOKENS_SCHEMA,
    "truncate": {"type": "boolean"},
}
_QUERY: dict[str, Any] = {"type": "string", "minLength": 1}
_MODEL: dict[str, Any] = {"type": "string", "minLength": 1}


def _texts(value: Any, param: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise bad_request(
            f"'{param}' must be a string or a non-empty list of strings.", param=param
        )
    texts: list[str] = []
    for index, item in enumerate(value):
        if isinstance(item, dict):  # Cohere's and Jina's {"text": ...} documents
            item = item.get("text")
        if not isinstance(item, str):
            message = f"'{param}[{index}]' must be a string (or an object with 'text')."
            raise bad_request(message, param=param)
        texts.append(item)
    return texts


def _top_n(body: dict[str, Any], count: int) -> int:
    value = body.get("top_n")
    if value is None:
        return count
    # 5.0 too: JSON Schema's integer (what the document says), as vLLM's pydantic reads it.
    top_n = integral(value)
    if top_n is None or top_n < 1:
        raise bad_request("'top_n' must be a positive integer.", param="top_n")
    return min(top_n, count)


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    """A documented boolean; null reads as not sent (it was refused as not a boolean)."""
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad_request(f"'{name}' must be true or false.", param=name)
    return value


# vLLM's score body (text_1 against text_2); its queries/documents aliases are read too, but
# only when text_1/text_2 are not sent, so the document states the vLLM names.
SCORE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["model", "text_1", "text_2"],
    "properties": {
        "model": _MODEL,
        "text_1": TEXTS_SCHEMA,
        "text_2": TEXTS_SCHEMA,
        **_TRUNCATION_FIELDS,
    },
}
# vLLM's, Cohere's and Jina's rerank body.
RERANK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["model", "query", "documents"],
    "properties": {
        "model": _MODEL,
        "query": _QUERY,
        "documents": TEXTS_SCHEMA,
        "top_n": {"type": "integer", "minimum": 1},
        "return_documents": {"type": "boolean"},
        **_TRUNCATION_FIELDS,
    },
}
TEI_RERANK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["query", "texts"],
    "properties": {
        "query": _QUERY,
        "texts": TEXTS_SCHEMA,
        "return_text": {"type": "boolean"},
        "raw_scores": {"type": "boolean"},
        **_TRUNCATION_FIELDS,
    },
}
TEI_SIMILARITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "inputs": {
            "type": "object",
            "required": ["source_sentence", "sentences"],
            "properties": {"source_sentence": _QUERY, "sentences": TEXTS_SCHEMA},
        },
        **_TRUNCATION_FIELDS,
    },
}


@documented(request=SCORE_SCHEMA, response={"type": "object"}, tags=["openai"])
async def score(request: Request) -> Response:
    """vLLM's ``/v1/score``: ``text_1`` against each ``text_2`` (or pairwise, two lists)."""
    body = await read_json_object(request)
    model = required_string(body, "model")
    first = _texts(body.get("text_1", body.get("queries")), "text_1")
    second = _texts(body.get("text_2", body.get("documents")), "text_2")
    if len(first) == 1:
        first = first * len(second)
    elif len(first) != len(second):
        message = "'text_1' and 'text_2' must have the same length when both are lists."
        raise bad_request(message, param="text_2")
    scores, tokens = await _cosines(request, model, body, first, second)
    return JSONResponse(
        {
            "id": f"score-{uuid.uuid4().hex}",
            "object": "list",
            "created": int(time.time()),
            "model": model,
            "data": [
                {"index": index, "object": "score", "score": value}
                for index, value in enumerate(scores)
            ],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0},
        }
    )


@documented(request=RERANK_SCHEMA, response={"type": "object"}, tags=["openai"])
async def rerank(request: Request) -> Response:
    """vLLM's, Cohere's and Jina's rerank: ``query`` and ``documents``, best first."""
    body = await read_json_object(request)
    if "texts" in body and "documents" not in body:
        return await tei_rerank(request, body=body, model=required_string(body, "model"))
    model = required_string(body, "model")
    query = body.get("query")
    if not isinstance(query, str) or not query:
        raise bad_request("'query' must be a non-empty string.", param="query")
    documents = _texts(body.get("documents"), "documents")
    return_documents = _flag(body, "return_documents", True)
    scores, tokens = await _cosines(request, model, body, [query] * len(documents), documents)
    order = sorted(range(len(documents)), key=lambda i: -scores[i])[: _top_n(body, len(documents))]
    results = []
    for index in order:
        item: dict[str, Any] = {"index": index, "relevance_score": scores[index]}
        if return_documents:
            item["document"] = {"text": documents[index]}
        results.append(item)
    return JSONResponse(
        {
            "id": f"rerank-{uuid.uuid4().hex}",
            "model": model,
            "usage": {"total_tokens": tokens},
            "results": results,
        }
    )


@documented(request=TEI_RERANK_SCHEMA, response={"type": "array"}, tags=["hf"])
async def tei_rerank(
    request: Request, *, body: dict[str, Any] | None = None, model: str | None = None
) -> Response:
    """TEI's ``/rerank``: ``{"query", "texts"}`` → ``[{"index", "score"}]``, best first."""
    if body is None:
        body = await read_json_object(request)
    name = model or request.path_params["name"]
    query = body.get("query")
    if not isinstance(query, str) or not query:
        raise bad_request("'query' must be a non-empty string.", param="query")
    texts = _texts(body.get("texts"), "texts")
    return_text = _flag(body, "return_text", False)
    _flag(body, "raw_scores", False)
    scores, _ = await _cosines(request, name, body, [query] * len(texts), texts)
    order = sorted(range(len(texts)), key=lambda i: -scores[i])
    items = []
    for index in order:
        item: dict[str, Any] = {"index": index, "score": scores[index]}
        if return_text:
            item["text"] = texts[index]
        items.append(item)
    return JSONResponse(items)


@documented(request=TEI_SIMILARITY_SCHEMA, response={"type": "array"}, tags=["hf"])
async def tei_similarity(request: Request) -> Response:
    """TEI's ``/similarity``: ``{"inputs": {"source_sentence", "sentences"}}`` → scores."""
    body = await read_json_object(request)
    inputs = body.get("inputs")
    if not isinstance(inputs, dict):
        message = "'inputs' must be an object with 'source_sentence' and 'sentences'."
        raise bad_request(message, param="inputs")
    source = inputs.get("source_sentence")
    if not isinstance(source, str) or not source:
        raise bad_request("'inputs.source_sentence' must be a non-empty string.", param="inputs")
    sentences = _texts(inputs.get("sentences"), "inputs.sentences")
    name = request.path_params["name"]
    scores, _ = await _cosines(request, name, body, [source] * len(sentences), sentences)
    return JSONResponse(scores)


def routes() -> list[BaseRoute]:
    return [
        Route("/v1/score", score, methods=["POST"]),
        Route("/score", score, methods=["POST"], name="score_alias"),
        Route("/v1/rerank", rerank, methods=["POST"]),
        Route("/rerank", rerank, methods=["POST"], name="rerank_alias"),
        Route("/v2/rerank", rerank, methods=["POST"], name="rerank_v2"),
        Route("/models/{name:path}/rerank", tei_rerank, methods=["POST"], name="tei_rerank"),
        Route(
            "/models/{name:path}/similarity",
            tei_similarity,
            methods=["POST"],
            name="tei_similarity",
        ),
    ]
