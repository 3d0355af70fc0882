"""Held-out metrics (scikit-learn): accuracy, macro-F1, per-class scores, confusion matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class ClassMetrics:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Metrics:
    examples: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassMetrics]
    confusion: list[list[int]]  # confusion[true][predicted], in label order

    def to_json(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class": {name: vars(m) for name, m in self.per_class.items()},
            "confusion": self.confusion,
        }


def classification_metrics(
    true_ids: npt.NDArray[np.int64] | list[int],
    predicted_ids: npt.NDArray[np.int64] | list[int],
    labels: tuple[str, ...],
) -> Metrics:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    ids = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        true_ids, predicted_ids, labels=ids, zero_division=0
    )
    per_class = {
        label: ClassMetrics(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
        for i, label in enumerate(labels)
    }
    return Metrics(
        examples=len(true_ids),
        accuracy=float(accuracy_score(true_ids, predicted_ids)),
        macro_f1=float(np.mean(f1)),
        per_class=per_class,
        confusion=confusion_matrix(true_ids, predicted_ids, labels=ids).tolist(),
    )
