"""Builds the ``sentiment`` model folder: 3-class tweet sentiment (negative / neutral / positive).

The classic model-service pipeline, one function per step (the fine-tuning loop and the export
steps are the ones of ``maaskit train classification --method finetune``, in
:mod:`maaskit_server.training.finetune` and :mod:`maaskit_server.training.export`):

collect → preprocess (clean, de-duplicate, stratified split) → build (MiniLM encoder + a
classification head) → train (AdamW, cross-entropy, early stopping on validation, bounded wall
time) → export (optimum ``text-classification``) → fp16 storage (:mod:`.fp16_storage`) →
evaluate (held-out test split, on the final ONNX model with onnxruntime + tokenizers, i.e. what
the server runs).

The steps that need no torch live in :mod:`.sentiment_data` (the tests import them there), the
model card in :mod:`.sentiment_card`; torch, transformers and optimum are imported inside functions.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from maaskit_server._build import _common, fp16_storage
from maaskit_server._build.sentiment_card import card
from maaskit_server._build.sentiment_data import (
    CANARIES,
    LABEL2ID,  # noqa: F401 - re-exported: the tests read it here
    LABELS,
    MAX_LEN,
    MIN_TEST_ACCURACY,
    NAME,
    SEED,
    Example,
    classification_metrics,
    collect,
    preprocess,
    stratified_split,
)
from maaskit_server.training.finetune import (
    FinetuneConfig,
    FinetuneReport,
    build_classifier,
    fine_tune,
)
from maaskit_server.training.progress import RichProgress


def sentiment_config() -> FinetuneConfig:
    """The fine-tuning settings of the default model (the shared loop's defaults suit small
    user sets; 30k tweets want a larger batch and learning rate and a time bound)."""
    return FinetuneConfig(
        seed=SEED,
        max_length=MAX_LEN,
        batch_size=32,
        lr=1e-4,
        max_epochs=4,
        budget_s=32 * 60,
    )


#: The settings and the report of the shared fine-tuning loop (names kept for this module).
TrainConfig = FinetuneConfig
TrainReport = FinetuneReport


def build_model(src: Path) -> Any:
    """``BertForSequenceClassification`` with the all-MiniLM-L6-v2 encoder and a new 3-way head."""
    model, _tokenizer = build_classifier(src, LABELS)
    return model


def train(
    model: Any,
    tokenizer: Any,
    train_set: Sequence[Example],
    val_set: Sequence[Example],
    cfg: FinetuneConfig,
) -> FinetuneReport:
    """Fine-tune with the loop ``maaskit train classification --method finetune`` uses."""
    return fine_tune(
        model,
        tokenizer,
        [(e.text, e.label) for e in train_set],
        [(e.text, e.label) for e in val_set],
        cfg,
        RichProgress(),
    )


# ---------------------------------------------------------------------------------------------
# export + evaluate


def save_hf(model: Any, tokenizer: Any, out: Path) -> None:
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))


def predict(model_dir: Path, texts: Sequence[str]) -> np.ndarray[Any, Any]:
    """Class probabilities from an ONNX model folder, computed as the server does."""
    logits = _common.OnnxEncoder(model_dir).logits(list(texts))
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    return np.asarray(p / p.sum(axis=1, keepdims=True))


def majority_baseline(train_set: Sequence[Example], test_set: Sequence[Example]) -> dict[str, Any]:
    """Accuracy on ``test_set`` of always predicting the most frequent training label."""
    label = Counter(e.label for e in train_set).most_common(1)[0][0]
    hits = sum(e.label == label for e in test_set)
    return {"label": LABELS[label], "accuracy": hits / len(test_set)}


def evaluate(model_dir: Path, examples: Sequence[Example]) -> dict[str, Any]:
    probs = predict(model_dir, [e.text for e in examples])
    return classification_metrics([e.label for e in examples], probs.argmax(axis=1).tolist())


# ---------------------------------------------------------------------------------------------
# build()


def train_or_resume(
    train_set: Sequence[Example],
    val_set: Sequence[Example],
    cfg: TrainConfig,
    hf_dir: Path,
    resume: bool,
) -> TrainReport:
    """Fine-tune and save the Hugging Face model to ``hf_dir`` with its training report.

    With ``resume`` and a finished training already in ``hf_dir`` (from an earlier run of this
    function), that model and its report are reused instead of training again.
    """
    from transformers import AutoTokenizer

    from maaskit_server._build import minilm

    report_path = hf_dir / "train_report.json"
    if resume and report_path.is_file() and (hf_dir / "model.safetensors").is_file():
        data = json.loads(report_path.read_text(encoding="utf-8"))
        print(f"{NAME}: reusing the model trained earlier in {hf_dir}")
        return TrainReport(**data)
    src = minilm.source_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(src))
    model = build_model(src)
    report = train(model, tokenizer, train_set, val_set, cfg)
    save_hf(model, tokenizer, hf_dir)
    report_path.write_text(json.dumps(report.__dict__, indent=1), encoding="utf-8")
    return report


def build(
    out_dir: Path,
    *,
    cfg: TrainConfig | None = None,
    work_dir: Path | None = None,
    resume: bool = False,
) -> None:
    """Run the whole pipeline and write the ``sentiment`` model folder to ``out_dir``.

    ``work_dir`` keeps the intermediate files (trained Hugging Face model, fp32 ONNX) for
    inspection, and with ``resume`` a finished training found there is reused.
    """
    _common.set_offline()
    import onnx
    import onnxruntime
    import torch
    import transformers

    cfg = cfg or sentiment_config()
    t0 = time.perf_counter()
    rows = collect()
    examples, prep = preprocess(rows)
    train_set, val_set, test_set = stratified_split(examples)
    print(f"{NAME}: {prep}; split {len(train_set)}/{len(val_set)}/{len(test_set)}")

    tmp_ctx = tempfile.TemporaryDirectory(prefix="maaskit-sentiment-")
    tmp = work_dir or Path(tmp_ctx.name)
    try:
        hf_dir, fp32_dir, stage = tmp / "hf", tmp / "fp32", tmp / "final"
        report = train_or_resume(train_set, val_set, cfg, hf_dir, resume)
        print(f"{NAME}: trained {report}")
        for d in (fp32_dir, stage):
            shutil.rmtree(d, ignore_errors=True)
        _common.optimum_export(hf_dir, "text-classification", fp32_dir)
        model = fp16_storage.convert_fp32(onnx.load(str(fp32_dir / "model.onnx")))
        onnx.save(model, str(stage / "model.onnx"))
        _common.copy_tokenizer_files(fp32_dir, stage)
        shutil.copyfile(stage / "tokenizer.json", fp32_dir / "tokenizer.json")
        shutil.copyfile(fp32_dir / "config.json", stage / "config.json")
        config = json.loads((stage / "config.json").read_text(encoding="utf-8"))
        if config.get("id2label") != {str(i): n for i, n in enumerate(LABELS)}:
            raise RuntimeError(f"unexpected id2label {config.get('id2label')}")
        enc = _common.OnnxEncoder(stage)
        if enc.input_names != ["input_ids", "attention_mask", "token_type_ids"]:
            raise RuntimeError(f"unexpected inputs {enc.input_names}")
        if enc.output_names != ["logits"]:
            raise RuntimeError(f"unexpected outputs {enc.output_names}")

        test_fp32 = evaluate(fp32_dir, test_set)
        test = evaluate(stage, test_set)
        val = evaluate(stage, val_set)
        probs = predict(stage, [t for t, _ in CANARIES])
        canaries = [
            {"text": t, "expected": want, "got": LABELS[int(p.argmax())], "score": float(p.max())}
            for (t, want), p in zip(CANARIES, probs, strict=True)
        ]
        _common.write_json(
            stage / "maaskit.json",
            _common.maaskit_json(
                "classification",
                "3-class sentiment (negative/neutral/positive) of short English texts; "
                "all-MiniLM-L6-v2 fine-tuned on tweets, fp16-stored ONNX",
            ),
        )
        facts: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d"),
            "prep": prep.__dict__,
            "sizes": [len(train_set), len(val_set), len(test_set)],
            "cfg": cfg.__dict__,
            "report": report.__dict__,
            "test": test,
            "test_fp32": test_fp32,
            "val": val,
            "canaries": canaries,
            "int8_mb": _common.size_mb(stage / "model.onnx"),
            "fp32_mb": _common.size_mb(fp32_dir / "model.onnx"),
            "folder_mb": _common.size_mb(stage),
            "sha256": _common.sha256(stage / "model.onnx"),
            "versions": {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "onnxruntime": onnxruntime.__version__,
            },
            "total_s": time.perf_counter() - t0,
            "resumed": resume,
            "arch": f"{config['num_hidden_layers']} layers, hidden size {config['hidden_size']}, "
            f"vocabulary {config['vocab_size']:,}",
            "majority": majority_baseline(train_set, test_set),
        }
        (stage / "README.md").write_text(card(facts), encoding="utf-8")
        (tmp / "facts.json").write_text(json.dumps(facts, indent=1), encoding="utf-8")
        print(
            f"{NAME}: test accuracy {test['accuracy']:.4f} macro-F1 {test['macro_f1']:.4f} "
            f"(fp32 ONNX {test_fp32['accuracy']:.4f}); canaries "
            + ", ".join(f"{c['expected']}->{c['got']}" for c in canaries)
        )
        if test["accuracy"] < MIN_TEST_ACCURACY:
            raise RuntimeError(
                f"sentiment test accuracy {test['accuracy']:.4f} < {MIN_TEST_ACCURACY}"
            )
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(stage, out_dir)
    finally:
        tmp_ctx.cleanup()
