"""Reranking and similarity on an embedding or cross-encoder model (vLLM's ``/v1/rerank`` and
``/v1/score``, TEI's ``/rerank`` and ``/similarity``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ._common import Result, Usage

__all__ = [
    "RerankRequest",
    "RerankResponse",
    "RerankResult",
    "SimilarityRequest",
    "SimilarityResponse",
]


class RerankRequest(BaseModel):
    model: str
    query: str
    documents: list[str]
    top_n: int | None = None
    return_documents: bool = True
    params: dict[str, Any] = Field(default_factory=dict)


class RerankResult(BaseModel):
    """One document of a ranking: its ``index`` in the documents sent, its
    ``relevance_score`` and, when the server returned it, its ``document`` text."""

    index: int
    relevance_score: float
    document: str | None = None


class RerankResponse(Result):
    """The documents best first (at most ``top_n`` of them)."""

    id: str | None = None
    model: str | None = None
    results: list[RerankResult]
    usage: Usage | None = None

    @property
    def indices(self) -> list[int]:
        """The documents' indices, best first."""
        return [result.index for result in self.results]

    @property
    def scores(self) -> list[float]:
        """The relevance scores, best first."""
        return [result.relevance_score for result in self.results]


class SimilarityRequest(BaseModel):
    model: str
    source: str
    sentences: list[str]
    params: dict[str, Any] = Field(default_factory=dict)


class SimilarityResponse(Result):
    """One score per sentence, in the order sent (the source's similarity to each)."""

    id: str | None = None
    model: str | None = None
    scores: list[float]
    usage: Usage | None = None
