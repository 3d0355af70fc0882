"""The model card (``README.md``) of a trained folder, written from ``training.json``'s facts.

Every number in it comes from the facts the pipeline measured; the tests parse them back and
compare them with a recomputation through the served model.
"""

from __future__ import annotations

from typing import Any


def _f(x: float) -> str:
    return f"{x:.4f}"


def model_card(facts: dict[str, Any]) -> str:
    f = facts
    m, prep, data, training = f["metrics"], f["preprocessing"], f["data"], f["training"]
    labels = list(f["labels"])
    base = f["base"]["name"]
    normalised = ", L2-normalised" if training.get("normalize") else ""
    method_line = {
        "head": f"a linear head on the frozen `{base}` encoder "
        f"({training.get('pooling')} pooling{normalised}), composed with it into one ONNX graph",
        "finetune": f"`{base}` fine-tuned end to end with torch, exported with optimum",
    }[f["method"]]
    distribution = "\n".join(
        f"| {label} | {n['rows']} | {n['train']} | {n['test']} |"
        for label, n in f["labels"].items()
    )
    per_class = "\n".join(
        f"| {label} | {_f(c['precision'])} | {_f(c['recall'])} | {_f(c['f1'])} | {c['support']} |"
        for label, c in m["per_class"].items()
    )
    confusion = "\n".join(
        f"| {label} | " + " | ".join(str(v) for v in row) + " |"
        for label, row in zip(labels, m["confusion"], strict=True)
    )
    conflicts = "\n".join(
        f"- {c['text']!r}: "
        + ", ".join(f"{label} ×{n}" for label, n in c["labels"].items())
        + (f" → kept as {c['kept']}" if c["kept"] else " → dropped (tie)")
        for c in prep["conflicts"]
    )
    training_lines = "\n".join(f"- {key}: {value}" for key, value in training.items())
    versions = ", ".join(f"{k} {v}" for k, v in f["versions"].items())
    id2label = ", ".join(f"{i} `{label}`" for i, label in f["id2label"].items())
    return f"""# {f["name"]}

A {len(labels)}-class text classifier ({", ".join(f"`{x}`" for x in labels)}) made by
`maaskit train classification --method {f["method"]}`: {method_line}.

**Held-out accuracy {_f(m["accuracy"])}, macro-F1 {_f(m["macro_f1"])}** on {m["examples"]}
examples never seen in training, measured on this folder's `model.onnx` with onnxruntime,
tokenized as the server tokenizes.

## Data
- File `{data["file"]}` ({data["format"]}), sha256 `{data["sha256"]}`.
- Rows read: {prep["rows"]}. Empty texts dropped: {prep["empty_text"]}. Rows changed by
  normalisation (Unicode NFC, control characters removed, whitespace collapsed):
  {prep["changed_by_normalization"]}. Duplicates merged (same text ignoring case):
  {prep["duplicates"]}. Texts under more than one label: {prep["conflicting_texts"]}
  ({prep["conflicting_dropped"]} tied, dropped). Examples kept: {prep["kept"]}.
- Stratified split with seed {f["seed"]}, test fraction {f["test_split"]}:
  {f["split"]["train"]} train / {f["split"]["test"]} test.

| label | examples | train | test |
|---|---|---|---|
{distribution}
{"" if not conflicts else chr(10) + "Conflicting texts:" + chr(10) + chr(10) + conflicts + chr(10)}
## Training
- Method: `{f["method"]}`; base model `{f["base"]["name"]}` (model.onnx sha256
  `{f["base"]["model_sha256"]}`); seed {f["seed"]}.
{training_lines}

## Evaluation (held-out test split)
| metric | value |
|---|---|
| accuracy | {_f(m["accuracy"])} |
| macro-F1 | {_f(m["macro_f1"])} |
| examples | {m["examples"]} |

| label | precision | recall | F1 | support |
|---|---|---|---|---|
{per_class}

Confusion matrix (rows: true label, columns: predicted):

| true \\ predicted | {" | ".join(labels)} |
|---|{"---|" * len(labels)}
{confusion}

## Interface
Inputs `input_ids`, `attention_mask`{", `token_type_ids`" if f["method"] == "head" else ""}
(int64 `[batch, tokens]`); outputs `logits` (float32 `[batch, {len(labels)}]`)
{"and `probabilities` (their softmax)" if f["method"] == "head" else ""}. Labels
(`config.json` `id2label`): {id2label}. Serve it with `maaskit serve --models <parent folder>`.

## Reproduce
The same data file, seed, method and base give the same metrics and (`head`) the same
`model.onnx` (sha256 `{f["model_sha256"]}`). Versions: {versions}.
"""
