"""Builds the ``sentiment`` model folder: 3-class tweet sentiment (negative / neutral / positive).

The classic model-service pipeline, one function per step:

collect → preprocess (clean, de-duplicate, stratified split) → build (MiniLM encoder + a
classification head) → train (AdamW, cross-entropy, early stopping on validation, bounded wall
time) → export (optimum ``text-classification``) → quantize (int8) → evaluate (held-out test
split, on the final ONNX model with onnxruntime + tokenizers, i.e. what the server runs).

The steps that need no torch live in :mod:`.sentiment_data` (the tests import them there), the
model card in :mod:`.sentiment_card`; torch, transformers and optimum are imported inside functions.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maaskit_server._build import _common
from maaskit_server._build.sentiment_card import card
from maaskit_server._build.sentiment_data import (
    CANARIES,
    LABEL2ID,
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


@dataclass
class TrainConfig:
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    max_epochs: int = 4
    budget_s: float = 32 * 60  # wall-clock bound of the training loop (evaluations included)
    eval_every: int = 150  # optimizer steps between validation checks
    eval_examples: int = 1200  # validation examples used for early stopping
    patience: int = 4  # validation checks without improvement before stopping
    #: On a busy 2-core machine one torch thread trained 3x faster than two (measured).
    threads: int = 1
    #: The 30k-row word-embedding table stays as pretrained (fewer parameters to update).
    freeze_embeddings: bool = True


@dataclass
class TrainReport:
    steps: int = 0
    examples_seen: int = 0
    seconds: float = 0.0
    best_step: int = 0
    best_val_accuracy: float = 0.0
    stopped_by: str = ""
    history: list[dict[str, float]] = field(default_factory=list)
    planned_steps: int = 0


def build_model(src: Path) -> Any:
    """``BertForSequenceClassification`` with the all-MiniLM-L6-v2 encoder and a new 3-way head."""
    _common.set_offline()
    from transformers import BertForSequenceClassification

    return BertForSequenceClassification.from_pretrained(
        str(src),
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id=dict(LABEL2ID),
    )


def _batches(
    tokenizer: Any, examples: Sequence[Example], batch_size: int
) -> Iterable[tuple[dict[str, Any], Any]]:
    import torch

    for i in range(0, len(examples), batch_size):
        chunk = examples[i : i + batch_size]
        enc = tokenizer(
            [e.text for e in chunk],
            padding=True,
            truncation=True,
            max_length=MAX_LEN,
            return_tensors="pt",
        )
        yield dict(enc), torch.tensor([e.label for e in chunk])


def _accuracy(model: Any, tokenizer: Any, examples: Sequence[Example]) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.inference_mode():
        for inputs, labels in _batches(tokenizer, examples, 128):
            correct += int((model(**inputs).logits.argmax(-1) == labels).sum())
    model.train()
    return correct / len(examples)


def train(
    model: Any,
    tokenizer: Any,
    train_set: Sequence[Example],
    val_set: Sequence[Example],
    cfg: TrainConfig,
) -> TrainReport:
    """Fine-tune the whole model; keep the weights of the best validation accuracy.

    AdamW + linear warm-up/decay, cross-entropy (the model's own loss). Stops at
    ``max_epochs``, when validation accuracy has not improved for ``patience`` checks, or when
    the wall-clock budget is spent (the schedule is sized from the throughput measured over
    the first steps).
    """
    import torch
    from tqdm import tqdm

    torch.manual_seed(SEED)
    torch.set_num_threads(cfg.threads)
    report = TrainReport()
    steps_per_epoch = (len(train_set) + cfg.batch_size - 1) // cfg.batch_size
    planned = steps_per_epoch * cfg.max_epochs
    if cfg.freeze_embeddings:
        for p in model.bert.embeddings.word_embeddings.parameters():
            p.requires_grad = False
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    val_subset = list(val_set[: cfg.eval_examples])

    def lr_at(step: int) -> float:
        warm = max(1, int(planned * cfg.warmup_fraction))
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (planned - step) / max(1, planned - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    best_state: dict[str, Any] | None = None
    since_best = 0
    start = time.perf_counter()
    model.train()
    bar = tqdm(total=planned, desc="sentiment train", unit="step")
    rng = random.Random(SEED)
    done = False
    for _epoch in range(cfg.max_epochs):
        order = list(train_set)
        rng.shuffle(order)
        for inputs, labels in _batches(tokenizer, order, cfg.batch_size):
            loss = model(**inputs, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            report.steps += 1
            report.examples_seen += len(labels)
            bar.update()
            elapsed = time.perf_counter() - start
            if report.steps == 50:
                # size the run to the budget: shrink the schedule if it cannot finish in time
                # (15% of the budget is kept for the validation checks)
                affordable = int(0.85 * cfg.budget_s / (elapsed / report.steps))
                if affordable < planned:
                    planned = max(affordable, report.steps + cfg.eval_every)
                    bar.total = planned
                report.planned_steps = planned
            out_of_time = elapsed >= cfg.budget_s
            if report.steps % cfg.eval_every == 0 or report.steps >= planned or out_of_time:
                acc = _accuracy(model, tokenizer, val_subset)
                report.history.append(
                    {
                        "step": report.steps,
                        "epoch": report.examples_seen / len(train_set),
                        "loss": float(loss),
                        "val_accuracy": acc,
                        "seconds": elapsed,
                    }
                )
                bar.set_postfix(val_acc=f"{acc:.4f}", loss=f"{float(loss):.3f}")
                if acc > report.best_val_accuracy:
                    report.best_val_accuracy, report.best_step, since_best = acc, report.steps, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    since_best += 1
                if since_best >= cfg.patience:
                    report.stopped_by = "early stopping"
                    done = True
            if not done and report.steps >= planned:
                report.stopped_by = "schedule end"
                done = True
            if not done and out_of_time:
                report.stopped_by = "time budget"
                done = True
            if done:
                break
        if done:
            break
    else:
        report.stopped_by = "max epochs"
    bar.close()
    report.seconds = time.perf_counter() - start
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return report


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
    import onnxruntime
    import torch
    import transformers

    cfg = cfg or TrainConfig()
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
        _common.quantize_int8(fp32_dir / "model.onnx", stage / "model.onnx")
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
                "all-MiniLM-L6-v2 fine-tuned on tweets, int8 ONNX",
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
