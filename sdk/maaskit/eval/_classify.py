"""Classification scores: accuracy, macro-F1, per-class precision and recall, confusion."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

__all__ = ["OTHER_LABEL", "ClassMetrics", "ClassificationScores", "score_classification"]

#: The confusion-matrix column of predictions outside the dataset's labels.
OTHER_LABEL = "(other)"


class ClassMetrics(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class ClassificationScores(BaseModel):
    """``confusion[i][j]``: items of true ``labels[i]`` predicted as ``columns[j]``; the
    columns are the labels plus :data:`OTHER_LABEL` when an endpoint answered a label the
    data does not have (a missing ``label_map`` shows up there). Failed calls are not in it."""

    n: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassMetrics]
    labels: list[str]
    columns: list[str]
    confusion: list[list[int]]


def score_classification(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> ClassificationScores:
    """Scores of ``predicted`` against ``truth`` over ``labels`` (every true label in it).

    Macro-F1 is the unweighted mean of the per-class F1 over ``labels``; a class never
    predicted has precision 0 (scikit-learn's ``zero_division=0``)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    index = {label: i for i, label in enumerate(labels)}
    other = any(p not in index for p in predicted)
    columns = [*labels, OTHER_LABEL] if other else list(labels)
    confusion = [[0] * len(columns) for _ in labels]
    for true, guess in zip(truth, predicted, strict=True):
        confusion[index[true]][index.get(guess, len(labels))] += 1
    per_class: dict[str, ClassMetrics] = {}
    for i, label in enumerate(labels):
        hits = confusion[i][i]
        predicted_as = sum(row[i] for row in confusion)
        support = sum(confusion[i])
        precision = hits / predicted_as if predicted_as else 0.0
        recall = hits / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = ClassMetrics(precision=precision, recall=recall, f1=f1, support=support)
    n = len(truth)
    return ClassificationScores(
        n=n,
        accuracy=sum(confusion[i][i] for i in range(len(labels))) / n if n else 0.0,
        macro_f1=sum(m.f1 for m in per_class.values()) / len(labels) if labels else 0.0,
        per_class=per_class,
        labels=list(labels),
        columns=columns,
        confusion=confusion,
    )
