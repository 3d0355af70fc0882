"""Reading, preprocessing and splitting: what the model sees, and the report of what changed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from maaskit_server.training import TrainingError, normalize_text, prepare_data
from maaskit_server.training.data import LabelledRow
from maaskit_server.training.preprocess import preprocess

from .conftest import DATA


def test_the_shipped_set_is_what_its_generator_writes(tmp_path: Path) -> None:
    script = DATA.with_name("make_support_tickets.py")
    copy = tmp_path / script.name
    copy.write_text(script.read_text(encoding="utf-8"), encoding="utf-8")
    subprocess.run([sys.executable, str(copy)], check=True, capture_output=True)
    assert (tmp_path / "support_tickets.csv").read_bytes() == DATA.read_bytes()


def test_the_report_counts_duplicates_and_conflicts_of_the_shipped_set() -> None:
    prepared = prepare_data(DATA, seed=0)
    report = prepared.report
    # The generator adds 6 re-cased copies, and 3 texts under two labels (2 rows each, one of
    # them a third time): 413 rows in all.
    assert report.rows == 413
    assert report.duplicates == 6 + 4  # the re-cased copies, and the conflicting repeats
    assert report.conflicting_texts == 3
    assert report.conflicting_dropped == 2
    assert report.kept == 413 - 10 - 2
    majority = [c for c in report.conflicts if c.kept is not None]
    assert [(c.kept, c.labels) for c in majority] == [("billing", {"account": 1, "billing": 2})]
    assert prepared.dataset.labels == ("account", "billing", "shipping", "technical")
    assert sum(report.per_label.values()) == report.kept


def test_normalisation_and_case_insensitive_duplicates() -> None:
    assert normalize_text("  Cafe\u0301\t\tis\u200b  open \x07") == "Café is open"
    rows = [
        LabelledRow(2, "Refund please", "billing"),
        LabelledRow(3, "  REFUND   please ", "billing"),
        LabelledRow(4, "Where is my parcel?", "shipping"),
        LabelledRow(5, "where is my parcel?", "billing"),
        LabelledRow(6, "   ", "billing"),
        LabelledRow(7, "Password reset", "account"),
        LabelledRow(8, "Card declined", "billing"),
        LabelledRow(9, "Login broken", "account"),
    ]
    dataset, report = preprocess(rows)
    assert report.empty_text == 1
    assert report.duplicates == 2
    assert report.conflicting_texts == 1
    assert report.conflicting_dropped == 1
    assert dataset.texts == ("Refund please", "Password reset", "Card declined", "Login broken")
    assert dataset.labels == ("account", "billing")
    assert dataset.id2label == {"0": "account", "1": "billing"}


def test_split_is_stratified_and_fixed_by_the_seed() -> None:
    first = prepare_data(DATA, seed=0)
    again = prepare_data(DATA, seed=0)
    other = prepare_data(DATA, seed=1)
    assert first.split == again.split
    assert first.split.test != other.split.test
    train, test = first.split.train, first.split.test
    assert not set(train) & set(test)
    assert len(train) + len(test) == first.report.kept
    per_label = Counter(first.dataset.label_ids[i] for i in test)
    for label, count in first.report.per_label.items():
        held_out = per_label[first.dataset.labels.index(label)]
        assert held_out == round(count * 0.2)


def test_jsonl_gives_the_same_examples_as_csv(tmp_path: Path) -> None:
    import csv

    with DATA.open(encoding="utf-8", newline="") as f:
        records = list(csv.DictReader(f))
    jsonl = tmp_path / "tickets.jsonl"
    jsonl.write_text(
        "".join(json.dumps({"body": r["text"], "topic": r["label"]}) + "\n" for r in records),
        encoding="utf-8",
    )
    from_jsonl = prepare_data(jsonl, text_column="body", label_column="topic", seed=0)
    from_csv = prepare_data(DATA, seed=0)
    assert from_jsonl.dataset == from_csv.dataset
    assert from_jsonl.split == from_csv.split


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"text,label\nfine,a\nbroken \xff\xfe,b\n",
            "is not UTF-8 (byte 0xff on line 3, offset 25)",
        ),
        (
            b"body,label\nx,a\n",
            "has no column 'text' (--text-column); its columns: 'body', 'label'",
        ),
        (b"text,label\nx,a\ny,\n", "row at line 3 has an empty label"),
        (b"text,label\nx,a\ny,a\nz,a\n", "needs at least 2 labels; the data has only 'a'"),
        (b"text,label\nx,a\ny,b\nz,b\n", "3 usable rows for 2 labels: at least 4 are needed"),
        (b"text,label\n", "has no data rows"),
    ],
)
def test_bad_data_is_refused_by_name(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(TrainingError) as raised:
        prepare_data(path)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
