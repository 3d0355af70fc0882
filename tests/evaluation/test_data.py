"""Loading labelled data: both formats, the shipped sets, and every bad input named by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from maaskit.eval import (
    DATASETS,
    ClassifyItem,
    DataError,
    PairItem,
    RetrievalItem,
    dataset_path,
    load_dataset,
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_jsonl_and_csv_give_the_same_items(tmp_path: Path) -> None:
    jsonl = write(
        tmp_path,
        "a.jsonl",
        '{"text": "good", "label": "positive"}\n{"text": "bad, really", "label": "negative"}\n',
    )
    csv = write(tmp_path, "a.csv", 'text,label\ngood,positive\n"bad, really",negative\n')
    a = load_dataset(jsonl, task="classify")
    b = load_dataset(csv, task="classify")
    assert [(i.text, i.label) for i in a.items] == [(i.text, i.label) for i in b.items]  # type: ignore[union-attr]
    assert a.labels == ("positive", "negative")
    assert [i.line for i in b.items] == [2, 3]


def test_shipped_sets_load_and_match_their_readme() -> None:
    sizes = {"sentiment": 300, "retrieval": 40, "sts": 30, "completion": 20}
    for name, task in DATASETS.items():
        data = load_dataset(dataset_path(name), task=task)  # type: ignore[arg-type]
        assert len(data) == sizes[name]
    sentiment = load_dataset(
        dataset_path("sentiment"), task="classify", labels=["negative", "neutral", "positive"]
    )
    labels = [i.label for i in sentiment.items if isinstance(i, ClassifyItem)]
    assert {label: labels.count(label) for label in set(labels)} == {
        "negative": 100,
        "neutral": 100,
        "positive": 100,
    }
    retrieval = load_dataset(dataset_path("retrieval"), task="embed")
    assert all(isinstance(i, RetrievalItem) for i in retrieval.items)
    sts = load_dataset(dataset_path("sts"), task="embed")
    assert all(isinstance(i, PairItem) and 0 <= i.score <= 5 for i in sts.items)


@pytest.mark.parametrize(
    ("name", "content", "task", "message"),
    [
        (
            "m.jsonl",
            '{"text": "a", "label": "x"}\n{"text": "b"}\n',
            "classify",
            r"line 2: missing column 'label'",
        ),
        (
            "m.csv",
            "text,lab\nhello,x\n",
            "classify",
            r"line 2: missing column 'label' \(the row has 'text', 'lab'\)",
        ),
        (
            "e.jsonl",
            '{"text": "a", "label": "x"}\n\n{"text": "b", "label": "x"}\n',
            "classify",
            "line 2: empty line",
        ),
        (
            "e.csv",
            "text,label\na,x\n,\nb,x\n",
            "classify",
            "line 3: empty line",
        ),
        (
            "v.jsonl",
            '{"text": "", "label": "x"}\n',
            "classify",
            "line 1: column 'text' is empty",
        ),
        (
            "j.jsonl",
            '{"text": "a", "label": "x"}\n{"text": "b", \n',
            "classify",
            "line 2: not JSON",
        ),
        (
            "o.jsonl",
            '["a", "x"]\n',
            "classify",
            "line 1: expected a JSON object, got list",
        ),
        (
            "s.jsonl",
            '{"text1": "a", "text2": "b", "score": "high"}\n',
            "embed",
            "line 1: score 'high' is not a number",
        ),
        (
            "k.jsonl",
            '{"sentence": "a"}\n',
            "embed",
            "line 1: an embed row needs 'query' and 'document'",
        ),
        (
            "g.jsonl",
            '{"prompt": "2+2="}\n',
            "complete",
            "line 1: missing column 'answer'",
        ),
        (
            "x.txt",
            "hello\n",
            "classify",
            "unknown file type",
        ),
        (
            "n.csv",
            "",
            "classify",
            "empty file",
        ),
    ],
)
def test_bad_files_name_the_file_and_line(
    tmp_path: Path, name: str, content: str, task: str, message: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(DataError, match=message) as caught:
        load_dataset(path, task=task)  # type: ignore[arg-type]
    assert str(caught.value).startswith(str(path))


def test_unknown_label(tmp_path: Path) -> None:
    rows = [{"text": "a", "label": "positive"}, {"text": "b", "label": "postive"}]
    path = write(tmp_path, "l.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"line 2: unknown label 'postive'; expected one of neg"):
        load_dataset(path, task="classify", labels=["negative", "neutral", "positive"])


def test_non_utf8_bytes_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "b.csv", b"text,label\nfine,x\ncaf\xe9,x\n")
    with pytest.raises(DataError, match=r"line 3: byte 0xe9 is not UTF-8") as caught:
        load_dataset(path, task="classify")
    assert caught.value.line == 3


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read the file"):
        load_dataset(tmp_path / "nope.jsonl", task="classify")


def test_limit_and_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", "\ufefftext,label\na,x\nb,y\nc,z\n")
    data = load_dataset(path, task="classify").limited(2)
    assert [i.text for i in data.items] == ["a", "b"]  # type: ignore[union-attr]
