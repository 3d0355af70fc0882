"""Rerank and similarity in the two shapes backends use (sans-I/O, shared by providers):

* vLLM (``openai`` provider): ``POST rerank`` ``{"model", "query", "documents", "top_n",
  "return_documents"}`` → ``{"id", "model", "results": [{"index", "relevance_score",
  "document": {"text"}}], "usage"}``; ``POST score`` ``{"model", "text_1", "text_2"}`` →
  ``{"data": [{"index", "score"}], "usage"}``.
* TEI (``hf`` provider): ``POST {model}/rerank`` ``{"query", "texts", "return_text"}`` →
  ``[{"index", "score", "text"?}]`` best first (TEI has no ``top_n``: the client keeps the first
  ``top_n``); ``POST {model}/similarity`` ``{"inputs": {"source_sentence", "sentences"}}`` →
  ``[float]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._http import HttpRequest, HttpResponse
from .._tasks import RERANK, SIMILARITY, Task
from ..types import (
    RerankRequest,
    RerankResponse,
    RerankResult,
    Result,
    SimilarityRequest,
    SimilarityResponse,
    Usage,
)
from ._parsing import load_json, parse_with

__all__ = ["RANKING_TASKS", "parse_tei", "parse_vllm", "tei_request", "vllm_request"]

RANKING_TASKS = (RERANK, SIMILARITY)


def _usage(payload: Any) -> Usage | None:
    usage = payload.get("usage") if isinstance(payload, Mapping) else None
    if not isinstance(usage, Mapping):
        return None
    if "prompt_tokens" not in usage and "total_tokens" in usage:
        # vLLM's rerank reports total_tokens alone; scoring produces no completion, so they
        # are all prompt tokens (and priced as such by the ledger).
        usage = {**usage, "prompt_tokens": usage["total_tokens"]}
    return Usage.model_validate(usage)


def _score(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a score must be a number, got {value!r}")
    return float(value)


def _document_text(document: Any) -> str | None:
    if document is None or isinstance(document, str):
        return document
    if isinstance(document, Mapping) and isinstance(document.get("text"), str):
        return str(document["text"])
    raise TypeError(f"a returned document must be a string or {{'text': ...}}, got {document!r}")


def _check_index(index: Any) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise TypeError(f"a result index must be a non-negative int, got {index!r}")
    return index


# -- vLLM ------------------------------------------------------------------------------------


def vllm_request(request: Any) -> HttpRequest:
    if isinstance(request, RerankRequest):
        body: dict[str, Any] = {
            "model": request.model,
            "query": request.query,
            "documents": request.documents,
            "return_documents": request.return_documents,
        }
        if request.top_n is not None:
            body["top_n"] = request.top_n
        return HttpRequest(method="POST", path="rerank", json={**body, **request.params})
    if isinstance(request, SimilarityRequest):
        body = {"model": request.model, "text_1": request.source, "text_2": request.sentences}
        return HttpRequest(method="POST", path="score", json={**body, **request.params})
    raise NotImplementedError(f"not a ranking request: {type(request).__name__}")


def _vllm_rerank(payload: Any) -> RerankResponse:
    results = [
        RerankResult(
            index=_check_index(item["index"]),
            relevance_score=_score(item["relevance_score"]),
            document=_document_text(item.get("document")),
        )
        for item in payload["results"]
    ]
    return RerankResponse(
        id=payload.get("id"),
        model=payload.get("model"),
        results=results,
        usage=_usage(payload),
        raw=payload,
    )


def _vllm_score(payload: Any) -> SimilarityResponse:
    items = sorted(payload["data"], key=lambda item: _check_index(item["index"]))
    return SimilarityResponse(
        id=payload.get("id"),
        model=payload.get("model"),
        scores=[_score(item["score"]) for item in items],
        usage=_usage(payload),
        raw=payload,
    )


def parse_vllm(task: Task[Any, Any, Any], response: HttpResponse) -> Result:
    build: Callable[[Any], Result] = _vllm_rerank if task is RERANK else _vllm_score
    return parse_with(task.name, response.body, load_json(response.body), build)


# -- TEI -------------------------------------------------------------------------------------


def tei_request(request: Any, path: Callable[[str, str], str]) -> HttpRequest:
    """``path(model, route)`` is the provider's way of placing a route under its base URL."""
    if isinstance(request, RerankRequest):
        body: dict[str, Any] = {
            "query": request.query,
            "texts": request.documents,
            "return_text": request.return_documents,
            **request.params,
        }
        return HttpRequest(method="POST", path=path(request.model, "rerank"), json=body)
    if isinstance(request, SimilarityRequest):
        inputs = {"source_sentence": request.source, "sentences": request.sentences}
        body = {"inputs": inputs, **request.params}
        return HttpRequest(method="POST", path=path(request.model, "similarity"), json=body)
    raise NotImplementedError(f"not a ranking request: {type(request).__name__}")


def _tei_rerank(items: Any) -> RerankResponse:
    if not isinstance(items, list):
        raise TypeError("a TEI rerank answer must be a list")
    results = [
        RerankResult(
            index=_check_index(item["index"]),
            relevance_score=_score(item["score"]),
            document=_document_text(item.get("text")),
        )
        for item in items
    ]
    results.sort(key=lambda r: -r.relevance_score)
    return RerankResponse(results=results, raw=items)


def _tei_similarity(scores: Any) -> SimilarityResponse:
    if not isinstance(scores, list):
        raise TypeError("a TEI similarity answer must be a list of numbers")
    return SimilarityResponse(scores=[_score(s) for s in scores], raw=scores)


def parse_tei(task: Task[Any, Any, Any], response: HttpResponse) -> Result:
    """TEI's answers carry no model name or usage."""
    build: Callable[[Any], Result] = _tei_rerank if task is RERANK else _tei_similarity
    return parse_with(task.name, response.body, load_json(response.body), build)
