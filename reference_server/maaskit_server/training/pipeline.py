"""``train_classifier``: data → preprocess → split → train → evaluate → model folder.

Every step is a function of its own module; this one runs them in order, checks everything
that can be checked before the long steps, and writes the folder in one rename at the end.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .base import DEFAULT_BASE, BaseEncoder, load_base
from .card import model_card
from .data import RawData, read_rows
from .errors import TrainingError
from .metrics import Metrics, classification_metrics
from .output import check_output, staged_output
from .preprocess import Dataset, Normalizer, PreprocessReport, normalize_text, preprocess
from .progress import Progress
from .split import Split, stratified_split

METHODS = ("head", "finetune")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)


@dataclass(frozen=True)
class PreparedData:
    """The data as the model sees it: read, preprocessed and split."""

    raw: RawData
    dataset: Dataset
    report: PreprocessReport
    split: Split
    test_fraction: float
    seed: int

    def texts(self, part: tuple[int, ...]) -> list[str]:
        return [self.dataset.texts[i] for i in part]

    def label_ids(self, part: tuple[int, ...]) -> list[int]:
        return [self.dataset.label_ids[i] for i in part]


@dataclass(frozen=True)
class TrainingResult:
    """What :func:`train_classifier` wrote and measured (also in the folder's ``training.json``)."""

    path: Path
    name: str
    method: str
    base: str
    data: PreparedData
    metrics: Metrics
    facts: dict[str, Any]


def prepare_data(
    data: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    test_split: float = 0.2,
    seed: int = 0,
    normalizer: Normalizer = normalize_text,
) -> PreparedData:
    """Read, normalise, de-duplicate and split ``data`` exactly as :func:`train_classifier`."""
    raw = read_rows(Path(data), text_column=text_column, label_column=label_column)
    dataset, report = preprocess(raw.rows, normalizer=normalizer)
    split = stratified_split(dataset, test_fraction=test_split, seed=seed)
    return PreparedData(raw, dataset, report, split, test_split, seed)


def train_classifier(
    data: str | Path,
    out: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    base: str | Path = DEFAULT_BASE,
    method: str = "head",
    seed: int = 0,
    test_split: float = 0.2,
    overwrite: bool = False,
    regularization: float | None = None,
    epochs: int = 3,
    normalizer: Normalizer = normalize_text,
    progress: Progress | None = None,
) -> TrainingResult:
    """Train a text classifier on a labelled CSV / JSON Lines file; write a servable folder.

    Parameters:
        data: ``.csv`` (``.tsv``) with a header row, or ``.jsonl`` with one object per line.
        out: the model folder to write; its name is the model's name when served from its
            parent (``maaskit serve --models PARENT``).
        text_column, label_column: the columns (fields) holding the text and its label.
        base: an encoder model folder, or the name of a default model.
        method: ``"head"`` (a linear classifier on the frozen encoder's features; no torch) or
            ``"finetune"`` (the whole encoder trained with torch; needs the ``export`` extra).
        seed: fixes the split and the training; same data, seed and method, same result.
        test_split: fraction of each label held out for evaluation.
        overwrite: replace ``out`` if it exists (only once the new folder is complete).
        regularization: ``head``: inverse L2 strength (scikit-learn's ``C``) of the head;
            ``None`` chooses it by cross-validation on the training split.
        epochs: ``finetune``: passes over the training split.
        normalizer: the text normalisation applied before de-duplication (and to be applied
            by callers of the served model for the best results).
        progress: where step progress goes (silent by default; the CLI passes rich bars).

    Raises :class:`TrainingError` for bad data, base models or outputs, before anything is
    written to ``out``.
    """
    progress = progress or Progress()
    out = Path(out)
    if method not in METHODS:
        raise TrainingError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    check_output(out, overwrite=overwrite)
    if method == "finetune":
        _require_finetune_extra()
    prepared = prepare_data(
        data,
        text_column=text_column,
        label_column=label_column,
        test_split=test_split,
        seed=seed,
        normalizer=normalizer,
    )
    encoder = load_base(base)
    if method == "finetune":
        from .finetune import torch_source

        torch_source(encoder)  # refuse now, not after the data was embedded
    report = prepared.report
    progress.note(
        f"{report.rows} rows → {report.kept} examples, {len(prepared.dataset.labels)} labels; "
        f"split {len(prepared.split.train)} train / {len(prepared.split.test)} test (seed {seed})"
    )
    with staged_output(out, overwrite=overwrite) as stage:
        if method == "head":
            from .head_method import train_head

            details = train_head(prepared, encoder, stage, regularization, progress)
        else:
            from .finetune import train_finetune

            details = train_finetune(prepared, encoder, stage, epochs, progress)
        _write_serving_files(stage, encoder, prepared.dataset, method)
        metrics = evaluate_folder(stage, prepared, progress)
        facts = _facts(prepared, encoder, method, details, metrics, stage, out.name)
        _write_json(stage / "training.json", facts)
        (stage / "README.md").write_text(model_card(facts), encoding="utf-8")
    return TrainingResult(out, out.name, method, encoder.name, prepared, metrics, facts)


def evaluate_folder(folder: Path, prepared: PreparedData, progress: Progress) -> Metrics:
    """Metrics of ``folder/model.onnx`` on the held-out split, run through onnxruntime."""
    from .runner import GraphRunner

    runner = GraphRunner(
        folder / "model.onnx", folder / "tokenizer.json", max_tokens=_max_tokens(folder)
    )
    output = "probabilities" if "probabilities" in _outputs(runner) else "logits"
    texts = prepared.texts(prepared.split.test)
    with progress.stage("evaluating model.onnx", len(texts)) as advance:
        scores = runner.run(texts, output, on_batch=advance)
    predicted = np.argmax(scores, axis=1).tolist()
    return classification_metrics(
        prepared.label_ids(prepared.split.test), predicted, prepared.dataset.labels
    )


def _outputs(runner: Any) -> list[str]:
    return [node.name for node in runner.session.get_outputs()]


def _max_tokens(folder: Path) -> int:
    options = json.loads((folder / "maaskit.json").read_text(encoding="utf-8"))
    return int(options["max_input_tokens"])


def _require_finetune_extra() -> None:
    needed = ("torch", "transformers", "optimum", "onnx_ir")
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise TrainingError(
            f"--method finetune needs torch and optimum ({', '.join(missing)} missing): "
            'pip install "maaskit[export]" (or use --method head, which needs no torch)'
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in (
        "maaskit",
        "onnxruntime",
        "onnx",
        "scikit-learn",
        "numpy",
        "tokenizers",
        "torch",
    ):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def _facts(
    prepared: PreparedData,
    encoder: BaseEncoder,
    method: str,
    details: dict[str, Any],
    metrics: Metrics,
    stage: Path,
    name: str,
) -> dict[str, Any]:
    dataset, split, report = prepared.dataset, prepared.split, prepared.report
    per_label = {
        label: {
            "rows": report.per_label[label],
            "train": sum(1 for i in split.train if dataset.label_ids[i] == index),
            "test": sum(1 for i in split.test if dataset.label_ids[i] == index),
        }
        for index, label in enumerate(dataset.labels)
    }
    return {
        "name": name,
        "task": "classification",
        "method": method,
        "base": {"name": encoder.name, "model_sha256": _sha256(encoder.spec.onnx_path)},
        "seed": prepared.seed,
        "test_split": prepared.test_fraction,
        "data": {
            "file": prepared.raw.path.name,
            "format": prepared.raw.format,
            "sha256": prepared.raw.sha256,
        },
        "preprocessing": {
            "rows": report.rows,
            "empty_text": report.empty_text,
            "changed_by_normalization": report.changed_by_normalization,
            "duplicates": report.duplicates,
            "conflicting_texts": report.conflicting_texts,
            "conflicting_dropped": report.conflicting_dropped,
            "kept": report.kept,
            "conflicts": [vars(c) for c in report.conflicts],
        },
        "split": {"train": len(split.train), "test": len(split.test)},
        "labels": per_label,
        "id2label": dataset.id2label,
        "training": details,
        "metrics": metrics.to_json(),
        "model_sha256": _sha256(stage / "model.onnx"),
        "versions": _versions(),
    }


def _write_serving_files(stage: Path, encoder: BaseEncoder, dataset: Dataset, method: str) -> None:
    """The files next to ``model.onnx`` that the server reads (tokenizer, config, maaskit.json)."""
    for file in TOKENIZER_FILES:
        source = encoder.spec.path / file
        if source.is_file() and not (stage / file).exists():
            shutil.copyfile(source, stage / file)
    config = dict(encoder.spec.config)
    if (stage / "config.json").is_file():
        config = json.loads((stage / "config.json").read_text(encoding="utf-8"))
    if method == "head":
        # The graph is the base encoder with a head: no Hugging Face class loads it.
        config.pop("architectures", None)
    config["id2label"] = dataset.id2label
    config["label2id"] = {label: i for i, label in enumerate(dataset.labels)}
    config["problem_type"] = "single_label_classification"
    _write_json(stage / "config.json", config)
    base_options = dict(encoder.spec.options)
    _write_json(
        stage / "maaskit.json",
        {
            "task": "classification",
            "max_input_tokens": encoder.spec.max_input_tokens,
            "truncation_default": False,
            "batching": base_options.get(
                "batching", {"max_batch_size": 64, "max_queue_delay_ms": 0}
            ),
            "price_per_million_tokens": 0.0,
            "description": f"{len(dataset.labels)}-class text classifier "
            f"({', '.join(dataset.labels)}) trained by maaskit train ({method} on {encoder.name})",
        },
    )


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
