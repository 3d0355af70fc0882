"""From per-token label probabilities to entities, as the Hugging Face token-classification
pipeline does it (pure: no session, no tokenizer).

Strategies (the pipeline's ``aggregation_strategy``):

* ``none``: one result per token that is not ``O``: ``{"entity": "B-PER", "score", "index",
  "word", "start", "end"}``;
* ``simple``: adjacent tokens of one entity type form an entity (a ``B-`` tag starts a new one),
  scored by the mean of their tokens' scores: ``{"entity_group": "PER", ...}``;
* ``first`` / ``average`` / ``max``: each word first takes one label (its first token's, the
  average of its tokens' probabilities, or its most confident token's), then words group as in
  ``simple``; an entity never ends inside a word.

``word`` is the original text of the span (``text[start:end]``), not the detokenized tokens,
so an uncased model still reports ``"Ada Lovelace"``; offsets are in ``str`` code points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["STRATEGIES", "TokenProbabilities", "entities"]

STRATEGIES = ("none", "simple", "first", "average", "max")


@dataclass(frozen=True)
class TokenProbabilities:
    """One text's content tokens (no special tokens): character spans, the word each token
    belongs to, and the label probabilities, shape ``(tokens, labels)``."""

    offsets: Sequence[tuple[int, int]]
    word_ids: Sequence[int | None]
    probabilities: npt.NDArray[np.float32]


def _split(label: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; a label without a BIO prefix counts as inside."""
    if len(label) > 2 and label[1] == "-" and label[0] in "BIES":
        return label[0], label[2:]
    return "I", label


def entities(
    text: str,
    tokens: TokenProbabilities,
    labels: Sequence[str],
    *,
    strategy: str = "simple",
    ignore_labels: Sequence[str] = ("O",),
) -> list[dict[str, Any]]:
    if strategy not in STRATEGIES:
        raise ValueError(f"aggregation_strategy must be one of {', '.join(STRATEGIES)}")
    probabilities = tokens.probabilities
    if len(tokens.offsets) == 0:
        return []
    best = probabilities.argmax(axis=-1)
    if strategy == "none":
        found = []
        for index, (label_id, (start, end)) in enumerate(zip(best, tokens.offsets, strict=True)):
            label = labels[int(label_id)]
            if label in ignore_labels:
                continue
            found.append(
                {
                    "entity": label,
                    "score": float(probabilities[index, label_id]),
                    "index": index + 1,  # as the pipeline counts: [CLS] is index 0
                    "word": text[start:end],
                    "start": start,
                    "end": end,
                }
            )
        return found
    # units: (start, end, label id, score) per token (simple) or per word (the others)
    units: list[tuple[int, int, int, float]] = []
    if strategy == "simple":
        for index, (start, end) in enumerate(tokens.offsets):
            label_id = int(best[index])
            units.append((start, end, label_id, float(probabilities[index, label_id])))
    else:
        for members in _words(tokens.word_ids):
            start, end = tokens.offsets[members[0]][0], tokens.offsets[members[-1]][1]
            rows = probabilities[members]
            if strategy == "first":
                label_id = int(rows[0].argmax())
                score = float(rows[0, label_id])
            elif strategy == "average":
                mean = rows.mean(axis=0)
                label_id = int(mean.argmax())
                score = float(mean[label_id])
            else:
                row = int(rows.max(axis=-1).argmax())
                label_id = int(rows[row].argmax())
                score = float(rows[row, label_id])
            units.append((start, end, label_id, score))
    return _group(text, units, labels, ignore_labels)


def _words(word_ids: Sequence[int | None]) -> list[list[int]]:
    words: list[list[int]] = []
    previous: int | None = None
    for index, word in enumerate(word_ids):
        if word is None or word != previous or not words:
            words.append([index])
        else:
            words[-1].append(index)
        previous = word
    return words


def _group(
    text: str,
    units: Sequence[tuple[int, int, int, float]],
    labels: Sequence[str],
    ignore_labels: Sequence[str],
) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    scores: list[float] = []

    def close() -> None:
        if current is not None:
            current["score"] = float(np.mean(scores))
            current["word"] = text[current["start"] : current["end"]]
            groups.append(current)

    for start, end, label_id, score in units:
        label = labels[label_id]
        tag, kind = _split(label)
        if label in ignore_labels or kind in ignore_labels:
            close()
            current = None
            continue
        if current is not None and current["entity_group"] == kind and tag != "B":
            current["end"] = end
            scores.append(score)
            continue
        close()
        current = {"entity_group": kind, "score": 0.0, "word": "", "start": start, "end": end}
        scores = [score]
    close()
    return groups
