"""Embedding and classification types."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ._common import Result, Usage

__all__ = [
    "ClassificationRequest",
    "ClassificationResponse",
    "ClassificationResult",
    "EmbeddingRequest",
    "EmbeddingResponse",
]


class EmbeddingRequest(BaseModel):
    model: str
    input: list[str]
    params: dict[str, Any] = Field(default_factory=dict)


class EmbeddingResponse(Result):
    """One vector per input, in input order."""

    model: str | None = None
    vectors: list[list[float]]
    usage: Usage | None = None

    @property
    def dimensions(self) -> int:
        return len(self.vectors[0]) if self.vectors else 0


class ClassificationRequest(BaseModel):
    model: str
    input: list[str]
    params: dict[str, Any] = Field(default_factory=dict)


class ClassificationResult(BaseModel):
    """The predicted ``label``, its probability ``score``, and ``scores`` (label → probability).

    ``scores`` holds every label only when the provider names every class. vLLM's
    ``/classify`` names the top label alone, so there ``scores`` is ``{label: score}`` and the
    unnamed probabilities stay in ``probs`` (in class-index order).
    """

    index: int = 0
    label: str
    score: float
    scores: dict[str, float]
    probs: list[float] = Field(default_factory=list)


class ClassificationResponse(Result):
    model: str | None = None
    results: list[ClassificationResult]
    usage: Usage | None = None
