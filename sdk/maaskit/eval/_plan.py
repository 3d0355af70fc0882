"""What to send for each task, and how the answers are scored.

A plan turns a dataset into calls (each a list of inputs sent in one request) and turns the
answers of the calls that succeeded back into the task's quality and metrics. Items whose call
failed are left out of the scores; they count in the error rate instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._classify import score_classification
from ._data import ClassifyItem, Dataset, GenerationItem, PairItem, RetrievalItem
from ._retrieval import cosine, score_retrieval, spearman
from ._text import TextScorer, apply_scorer

__all__ = ["Plan", "Scored", "make_plan"]

# One answer per input of a call: a label, a vector or a generated text.
Answer = str | list[float]


@dataclass(frozen=True)
class Scored:
    quality: float | None
    metrics: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """``calls[k]`` are the inputs of call k; ``score`` takes ``answers[input]`` (the inputs
    answered) and gives the quality and metrics."""

    dataset: Dataset
    inputs: tuple[str, ...]
    calls: tuple[tuple[int, ...], ...]  # indices into ``inputs``
    label_map: Mapping[str, str]
    labels: tuple[str, ...]
    scorer: TextScorer | None

    def score(self, answers: Mapping[int, Answer]) -> Scored:
        task = self.dataset.task
        if task == "classify":
            return self._classify(answers)
        if task == "embed":
            return self._embed(answers)
        return self._generation(answers)

    def _classify(self, answers: Mapping[int, Answer]) -> Scored:
        truth, predicted = [], []
        for index, item in enumerate(self.dataset.items):
            assert isinstance(item, ClassifyItem)
            if index in answers:
                label = str(answers[index])
                truth.append(item.label)
                predicted.append(self.label_map.get(label, label))
        if not truth:
            return Scored(None, {})
        scores = score_classification(truth, predicted, self.labels)
        return Scored(scores.macro_f1, scores.model_dump())

    def _embed(self, answers: Mapping[int, Answer]) -> Scored:
        position = {text: i for i, text in enumerate(self.inputs)}

        def vector(text: str) -> list[float] | None:
            answer = answers.get(position[text])
            return answer if isinstance(answer, list) else None

        metrics: dict[str, Any] = {}
        quality: float | None = None
        retrieval = [i for i in self.dataset.items if isinstance(i, RetrievalItem)]
        pairs = [i for i in self.dataset.items if isinstance(i, PairItem)]
        if pairs:
            x, y = [], []
            for pair in pairs:
                a, b = vector(pair.text1), vector(pair.text2)
                if a is not None and b is not None:
                    x.append(pair.score)
                    y.append(cosine(a, b))
            rho = spearman(x, y) if len(x) >= 2 else math.nan
            metrics["sts"] = {"pairs": len(x), "spearman": None if math.isnan(rho) else rho}
            if not math.isnan(rho):
                quality = max(0.0, rho)
        if retrieval:
            # The pool is every distinct document of the file that was embedded.
            documents = list(dict.fromkeys(item.document for item in retrieval))
            pool = [(d, v) for d in documents if (v := vector(d)) is not None]
            where = {d: i for i, (d, _) in enumerate(pool)}
            queries, targets = [], []
            for item in retrieval:
                q = vector(item.query)
                if q is not None and item.document in where:
                    queries.append(q)
                    targets.append(where[item.document])
            if queries:
                scores = score_retrieval(queries, [v for _, v in pool], targets)
                metrics["retrieval"] = scores.model_dump()
                quality = scores.mrr  # retrieval decides when the file has both kinds
        return Scored(quality, metrics)

    def _generation(self, answers: Mapping[int, Answer]) -> Scored:
        assert self.scorer is not None
        values = []
        for index, item in enumerate(self.dataset.items):
            assert isinstance(item, GenerationItem)
            if index in answers:
                where = f"{self.dataset.path}, line {item.line}"
                values.append(
                    apply_scorer(self.scorer, str(answers[index]), item.reference, where=where)
                )
        if not values:
            return Scored(None, {})
        mean = math.fsum(values) / len(values)
        return Scored(mean, {"mean_score": mean, "scored": len(values)})


def make_plan(
    dataset: Dataset,
    *,
    batch_size: int,
    label_map: Mapping[str, str],
    labels: Sequence[str] | None,
    scorer: TextScorer | None,
) -> Plan:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    task = dataset.task
    if task == "embed":
        texts: dict[str, None] = {}
        for item in dataset.items:
            if isinstance(item, RetrievalItem):
                texts.setdefault(item.query)
                texts.setdefault(item.document)
            elif isinstance(item, PairItem):
                texts.setdefault(item.text1)
                texts.setdefault(item.text2)
        inputs = tuple(texts)
    elif task == "classify":
        inputs = tuple(item.text for item in dataset.items if isinstance(item, ClassifyItem))
    else:
        # Generation answers one prompt per request: batching prompts is not what apps do.
        batch_size = 1
        inputs = tuple(item.prompt for item in dataset.items if isinstance(item, GenerationItem))
    calls = tuple(
        tuple(range(start, min(start + batch_size, len(inputs))))
        for start in range(0, len(inputs), batch_size)
    )
    if task in ("chat", "complete") and scorer is None:
        raise ValueError(f"task {task!r} needs a scorer")
    chosen = tuple(labels) if labels is not None else tuple(sorted(dataset.labels))
    return Plan(dataset, inputs, calls, dict(label_map), chosen, scorer)
