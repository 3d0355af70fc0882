"""Embedding scores: retrieval over pooled documents, and Spearman on scored pairs.

Plain Python (no numpy in the SDK): the sets are small, a few hundred vectors of a few hundred
dimensions, so the cost is the endpoint calls, not the arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel

__all__ = [
    "RetrievalScores",
    "cosine",
    "rank_average",
    "score_retrieval",
    "spearman",
]


class RetrievalScores(BaseModel):
    """``recall_at_1`` / ``recall_at_5``: share of queries whose document ranks first / in the
    first five among all the file's documents; ``mrr``: mean of 1 / that rank."""

    queries: int
    documents: int
    recall_at_1: float
    recall_at_5: float
    mrr: float


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        raise ValueError(f"vectors of {len(a)} and {len(b)} dimensions")
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    return dot / norm if norm else 0.0


def score_retrieval(
    queries: Sequence[Sequence[float]],
    documents: Sequence[Sequence[float]],
    answers: Sequence[int],
) -> RetrievalScores:
    """Ranks ``documents`` by cosine to each query; ``answers[q]`` is query q's document.

    A tie with the right document counts against it (its rank is 1 + the number of documents
    scoring at least as high), so a constant embedding scores as badly as it should."""
    if len(queries) != len(answers):
        raise ValueError(f"{len(queries)} queries but {len(answers)} answers")
    ranks = []
    for query, answer in zip(queries, answers, strict=True):
        scores = [cosine(query, document) for document in documents]
        right = scores[answer]
        ranks.append(1 + sum(1 for i, s in enumerate(scores) if i != answer and s >= right))
    n = len(ranks)
    return RetrievalScores(
        queries=n,
        documents=len(documents),
        recall_at_1=sum(r <= 1 for r in ranks) / n if n else 0.0,
        recall_at_5=sum(r <= 5 for r in ranks) / n if n else 0.0,
        mrr=math.fsum(1 / r for r in ranks) / n if n else 0.0,
    )


def rank_average(values: Sequence[float]) -> list[float]:
    """1-based ranks, tied values sharing the mean of their positions (fractional ranking)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            ranks[order[k]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho: Pearson correlation of the average ranks (correct with ties, unlike
    the ``1 - 6 Σd² / n(n²-1)`` shortcut). ``nan`` when either side is constant."""
    if len(x) != len(y):
        raise ValueError(f"{len(x)} and {len(y)} values")
    if len(x) < 2:
        return math.nan
    rx, ry = rank_average(x), rank_average(y)
    mx, my = math.fsum(rx) / len(rx), math.fsum(ry) / len(ry)
    cov = math.fsum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = math.fsum((a - mx) ** 2 for a in rx)
    vy = math.fsum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return math.nan
    return cov / math.sqrt(vx * vy)
