"""``--method head``: features of the frozen base encoder, a linear head, one composed graph."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx

from .base import BaseEncoder
from .compose import FEATURES, classifier_graph, features_graph, load_encoder
from .head import fit_head
from .progress import Progress
from .runner import GraphRunner

if TYPE_CHECKING:
    from .pipeline import PreparedData


def train_head(
    prepared: PreparedData,
    encoder: BaseEncoder,
    stage: Path,
    regularization: float | None,
    progress: Progress,
) -> dict[str, Any]:
    """Write ``stage/model.onnx``; return what the model card says about the training."""
    features_model = features_graph(encoder, load_encoder(encoder))
    runner = GraphRunner(
        features_model.SerializeToString(),
        encoder.spec.tokenizer_path,
        max_tokens=encoder.spec.max_input_tokens,
    )
    texts = prepared.texts(prepared.split.train)
    with progress.stage(f"embedding {len(texts)} training texts", len(texts)) as advance:
        features = runner.run(texts, FEATURES, on_batch=advance)
    labels = np.asarray(prepared.label_ids(prepared.split.train), dtype=np.int64)
    classes = len(prepared.dataset.labels)
    how = "C given" if regularization is not None else "C by cross-validation"
    with progress.stage(f"fitting the linear head ({how})", None):
        head = fit_head(
            features, labels, classes, regularization=regularization, seed=prepared.seed
        )
    model = classifier_graph(features_model, head.weights, head.bias, prepared.dataset.labels)
    onnx.save(model, str(stage / "model.onnx"))
    return {
        "head": "multinomial logistic regression (scikit-learn, L-BFGS, L2) on standardised "
        "features, folded into one Gemm",
        "regularization_C": head.regularization,
        "regularization_chosen_by": "given"
        if regularization is not None
        else "stratified k-fold cross-validation on the training split: "
        + ", ".join(f"C={c:g} {acc:.4f}" for c, acc in head.cross_validation.items()),
        "iterations": head.iterations,
        "features": int(features.shape[1]),
        "pooling": "precomputed" if encoder.pooled else encoder.spec.pooling,
        "normalize": encoder.spec.normalize,
        "max_input_tokens": encoder.spec.max_input_tokens,
    }
