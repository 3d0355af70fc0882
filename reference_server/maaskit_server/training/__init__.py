"""Training text classifiers on your own labelled data: ``maaskit train classification``.

The pipeline, one module per step: :mod:`.data` reads a CSV / JSON Lines file,
:mod:`.preprocess` normalises and de-duplicates it (reporting conflicts), :mod:`.split` holds
out a stratified test split with a seed, :mod:`.head_method` (``--method head``, no torch)
fits a linear head on the frozen encoder's features and :mod:`.compose` joins both into one
ONNX graph, :mod:`.finetune` (``--method finetune``) trains the whole encoder with torch;
:func:`evaluate_folder` scores the written ``model.onnx`` through onnxruntime and
:mod:`.card` writes the model card. :func:`train_classifier` runs them all::

    from maaskit_server.training import train_classifier

    result = train_classifier("tickets.csv", "models/tickets", seed=0)
    print(result.metrics.accuracy, result.path)

Needs the ``train`` extra (``onnx``, ``scikit-learn``); ``finetune`` also the ``export`` one.
"""

from __future__ import annotations

from .base import DEFAULT_BASE
from .errors import TrainingError
from .metrics import ClassMetrics, Metrics, classification_metrics
from .pipeline import (
    METHODS,
    PreparedData,
    TrainingResult,
    evaluate_folder,
    prepare_data,
    train_classifier,
)
from .preprocess import Dataset, PreprocessReport, normalize_text
from .progress import Progress, RichProgress

__all__ = [
    "DEFAULT_BASE",
    "METHODS",
    "ClassMetrics",
    "Dataset",
    "Metrics",
    "PreparedData",
    "PreprocessReport",
    "Progress",
    "RichProgress",
    "TrainingError",
    "TrainingResult",
    "classification_metrics",
    "evaluate_folder",
    "normalize_text",
    "prepare_data",
    "train_classifier",
]
