"""The sentiment pipeline's pure-python steps: cleaning, de-duplication, split, metrics.

These run without torch: ``maaskit_server._build.sentiment`` imports torch only inside the
training and export functions.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from maaskit_server._build import sentiment_data as sentiment
from maaskit_server._build.sentiment_data import (
    Example,
    classification_metrics,
    clean_text,
    collect,
    preprocess,
    stratified_split,
)


def test_module_imports_no_heavy_dependency() -> None:
    code = (
        "import sys, maaskit_server._build.sentiment, maaskit_server._build.minilm\n"
        "heavy = {'torch', 'transformers', 'optimum', 'onnxruntime', 'sentence_transformers'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_clean_replaces_urls_and_mentions() -> None:
    text = "RT @JetBlue: loved it!! https://t.co/AbC123 see www.example.com/x @bob_99"
    assert clean_text(text) == "RT @user : loved it!! http see http @user"


def test_clean_keeps_email_like_text_and_hashtags() -> None:
    assert clean_text("#DeflateGate is silly") == "#DeflateGate is silly"
    assert clean_text("mail me at a@b.com") == "mail me at a@b.com"


def test_clean_unescapes_html_and_drops_junk_and_whitespace() -> None:
    assert clean_text("  fish &amp; chips\t\n\ufffd\u200b great  ") == "fish & chips great"


def test_preprocess_drops_empty_and_unknown_labels() -> None:
    rows = [("@someone http://x.y", "positive"), ("   ", "neutral"), ("ok then", "mixed")]
    examples, stats = preprocess(rows)
    assert examples == []
    assert (stats.rows, stats.empty, stats.unknown_label, stats.kept) == (3, 2, 1, 0)


def test_preprocess_deduplicates_after_cleaning_ignoring_case() -> None:
    rows = [
        ("Great flight @united http://a.b", "positive"),
        ("great flight @delta  http://c.d", "positive"),
        ("GREAT FLIGHT @aa http://e", "neutral"),
        ("Lost my bag", "negative"),
    ]
    examples, stats = preprocess(rows)
    assert examples == [
        Example("Great flight @user http", sentiment.LABEL2ID["positive"]),
        Example("Lost my bag", sentiment.LABEL2ID["negative"]),
    ]
    assert stats.duplicates == 2
    assert stats.conflicting == 0


def test_preprocess_drops_ties_between_labels() -> None:
    examples, stats = preprocess([("meh", "positive"), ("Meh", "negative"), ("fine", "neutral")])
    assert [e.text for e in examples] == ["fine"]
    assert stats.conflicting == 1


def _examples(counts: dict[int, int]) -> list[Example]:
    return [Example(f"text {label} {i}", label) for label, n in counts.items() for i in range(n)]


def test_split_proportions_and_stratification() -> None:
    data = _examples({0: 500, 1: 300, 2: 200})
    train, val, test = stratified_split(data, (0.8, 0.1, 0.1), seed=1)
    assert (len(train), len(val), len(test)) == (800, 100, 100)
    assert Counter(e.label for e in val) == {0: 50, 1: 30, 2: 20}
    assert Counter(e.label for e in test) == {0: 50, 1: 30, 2: 20}
    assert Counter(e.label for e in train) == {0: 400, 1: 240, 2: 160}


def test_split_is_a_partition() -> None:
    data = _examples({0: 37, 1: 23, 2: 11})
    parts = stratified_split(data)
    joined = [e for part in parts for e in part]
    assert sorted(joined, key=lambda e: e.text) == sorted(data, key=lambda e: e.text)
    assert len({e.text for e in joined}) == len(data)


def test_split_is_deterministic_and_depends_on_seed() -> None:
    data = _examples({0: 60, 1: 40, 2: 20})
    assert stratified_split(data, seed=5) == stratified_split(list(data), seed=5)
    assert stratified_split(data, seed=5) != stratified_split(data, seed=6)


def test_split_rejects_bad_fractions() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        stratified_split(_examples({0: 10}), (0.5, 0.2, 0.2))


def test_metrics() -> None:
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 2, 2]
    m = classification_metrics(y_true, y_pred)
    assert m["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["per_class"]["negative"]["f1"] == pytest.approx(0.8)  # p 1, r 2/3
    assert m["per_class"]["neutral"]["f1"] == pytest.approx(0.5)  # p 1/2, r 1/2
    assert m["per_class"]["positive"]["f1"] == pytest.approx(2 / 3)  # p 1/2, r 1
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_collect_reads_csv_rows(tmp_path: Path) -> None:
    csv_path = tmp_path / "c.csv"
    csv_path.write_bytes(
        b'sentiment,confidence,text\nPositive,1,"nice, really"\nnegative,,bad \xd1 day\n'
    )
    assert collect(csv_path) == [("nice, really", "positive"), ("bad \ufffd day", "negative")]
