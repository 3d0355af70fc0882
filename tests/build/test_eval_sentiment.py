"""The shipped sentiment evaluation set is the sentiment model's held-out test split, exactly."""

from __future__ import annotations

import json

from maaskit.eval import dataset_path
from maaskit_server._build.eval_sentiment import select
from maaskit_server._build.sentiment_data import (
    LABELS,
    collect,
    dedup_key,
    preprocess,
    stratified_split,
)


def test_shipped_sentiment_rows_are_held_out_and_reproducible() -> None:
    shipped = [
        json.loads(line)
        for line in dataset_path("sentiment").read_text(encoding="utf-8").splitlines()
    ]
    train, validation, test = stratified_split(preprocess(collect())[0])
    rebuilt = [{"text": e.text, "label": LABELS[e.label]} for e in select(train, validation, test)]
    assert shipped == rebuilt
    seen = {dedup_key(e.text) for e in (*train, *validation)}
    assert not [row for row in shipped if dedup_key(row["text"]) in seen]
    test_texts = {e.text for e in test}
    assert all(row["text"] in test_texts for row in shipped)
