"""The model card of ``pii-ner`` (filled with the numbers of the build that wrote it)."""

from __future__ import annotations

from typing import Any


def card(stats: dict[str, Any]) -> str:
    rows = "\n".join(
        f"| {kind} | {score['labelled']} | {score['recall']:.3f} | {score['precision']:.3f} |"
        for kind, score in stats["scores"].items()
    )
    return f"""# pii-ner (int8 ONNX)

Token classification (NER) for the masker's `EndpointDetector`: persons (`PER`), organisations
(`ORG`) and places (`LOC`), BIO labels `O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC`.

## What it is
The `all-minilm-l6-v2` encoder shipped next to it (the same int8 weights, unchanged) with a
multinomial logistic head on every token's 384-d state, composed into one ONNX graph:
`logits = last_hidden_state @ W + b` (7 labels). The server applies the softmax and the
Hugging Face pipeline's aggregation.

## Source and licence
- Encoder: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), see `all-minilm-l6-v2/README.md`.
- Training data: the project's synthetic corpus (`maaskit/privacy/corpus/pii-corpus.jsonl.gz`,
  generated with `faker` by `maaskit_server._build.pii_corpus`, seed fixed); no real person's data.
- This folder is a derivative under Apache-2.0.

## How it was built
`python -m maaskit_server._build pii-ner OUT` (the `export` extra: `onnx`, `scikit-learn`),
no torch, no network: encoder states by onnxruntime, scikit-learn `LogisticRegression` (L2,
C=1.0, lbfgs), head appended with the `onnx` helper. {stats["seconds"]:.0f} s on 2 cores.

## Measured in this build
- train: {stats["train_sentences"]} sentences, {stats["train_tokens"]} tokens, token accuracy {stats["train_accuracy"]:.3f}
- test split ({stats["test_sentences"]} held-out sentences), exact entity spans, `simple` aggregation:

| type | labelled | recall | precision |
|---|---:|---:|---:|
{rows}

- `model.onnx`: {stats["size_mb"]:.1f} MB (the head adds 11 KB to the encoder).

## Limits (read before relying on it)
- The corpus is templated: test sentences are new values in the same ~70 sentence shapes as
  the training ones. Recall on free text (chat, e-mails, transcripts) will be lower; measure on
  your own data with `maaskit.privacy.evaluate` before trusting it with compliance.
- Uncased encoder: capitalisation, a strong cue for names, is not seen.
- Seven locales (en, de, fr, es, it, nl); names from other cultures are under-represented.
"""
