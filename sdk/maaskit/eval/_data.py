"""Labelled data for ``evaluate``: JSON Lines or CSV files, checked row by row.

Every problem is a :class:`DataError` naming the file and the line (1-based, as an editor
shows it), so a user fixes the file without guessing. Nothing is skipped silently: an empty
line, a missing column, a label outside ``labels=`` or bytes that are not UTF-8 stop the load.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "TASKS",
    "ClassifyItem",
    "DataError",
    "Dataset",
    "GenerationItem",
    "PairItem",
    "RetrievalItem",
    "Task",
    "load_dataset",
]

Task = Literal["classify", "embed", "chat", "complete"]
TASKS: tuple[Task, ...] = ("classify", "embed", "chat", "complete")


class DataError(ValueError):
    """A data file cannot be used; ``path`` and ``line`` say where (``line`` may be ``None``)."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class ClassifyItem:
    text: str
    label: str
    line: int


@dataclass(frozen=True)
class RetrievalItem:
    """A query and the one document (among all the file's documents) that answers it."""

    query: str
    document: str
    line: int


@dataclass(frozen=True)
class PairItem:
    """Two sentences and a human similarity score (STS style; any scale, only ranks count)."""

    text1: str
    text2: str
    score: float
    line: int


@dataclass(frozen=True)
class GenerationItem:
    """A prompt and its reference answer (a regular expression for the ``regex`` scorer)."""

    prompt: str
    reference: str
    line: int


Item = ClassifyItem | RetrievalItem | PairItem | GenerationItem


@dataclass(frozen=True)
class Dataset:
    """The checked rows of one file, in file order."""

    task: Task
    path: str
    items: tuple[Item, ...]

    def __len__(self) -> int:
        return len(self.items)

    def limited(self, limit: int | None) -> Dataset:
        if limit is None:
            return self
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        return Dataset(self.task, self.path, self.items[:limit])

    @property
    def labels(self) -> tuple[str, ...]:
        """Classification labels in order of first appearance."""
        seen: dict[str, None] = {}
        for item in self.items:
            if isinstance(item, ClassifyItem):
                seen.setdefault(item.label)
        return tuple(seen)


# Column names per task; the first of each group is the documented one, the others are aliases
# that common datasets use (MTEB/BEIR "positive", STS-B "sentence1"/"sentence2").
_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("text", "input"),
    "label": ("label",),
    "query": ("query",),
    "document": ("document", "positive"),
    "text1": ("text1", "sentence1"),
    "text2": ("text2", "sentence2"),
    "score": ("score",),
    "prompt": ("prompt", "input"),
    "reference": ("answer", "reference", "expected"),
}


def load_dataset(
    path: str | Path,
    *,
    task: Task,
    labels: Sequence[str] | None = None,
) -> Dataset:
    """Read ``path`` (``.jsonl`` / ``.json`` lines or ``.csv`` with a header) for ``task``.

    Columns: classify ``text``, ``label``; embed either ``query``, ``document`` (retrieval
    pairs) or ``text1``, ``text2``, ``score`` (scored pairs; a file may hold both kinds);
    chat and complete ``prompt``, ``answer``. ``labels`` restricts the allowed labels.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; one of {', '.join(TASKS)}")
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc})", path=name) from exc
    text = _decode(raw, name)
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(text, name)
    elif suffix in (".jsonl", ".json", ".ndjson"):
        rows = _jsonl_rows(text, name)
    else:
        raise DataError("unknown file type; use .jsonl or .csv", path=name)
    allowed = set(labels) if labels is not None else None
    items = tuple(_item(task, row, line, name, allowed) for line, row in rows)
    if not items:
        raise DataError("no rows", path=name)
    return Dataset(task, name, items)


def _decode(raw: bytes, path: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"byte {raw[exc.start]:#04x} is not UTF-8 (save the file as UTF-8)",
            path=path,
            line=line,
        ) from exc
    return text.removeprefix("\ufeff")  # a BOM from spreadsheet exports is not data


def _jsonl_rows(text: str, path: str) -> Iterable[tuple[int, Mapping[str, object]]]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise DataError(
                "empty line (every line must be one JSON object)", path=path, line=number
            )
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"not JSON: {exc.msg} at column {exc.colno}", path=path, line=number
            ) from exc
        if not isinstance(row, dict):
            raise DataError(
                f"expected a JSON object, got {type(row).__name__}", path=path, line=number
            )
        yield number, row


def _csv_rows(text: str, path: str) -> Iterable[tuple[int, Mapping[str, object]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DataError("empty file (a CSV needs a header line)", path=path) from None
    except csv.Error as exc:
        raise DataError(f"not CSV: {exc}", path=path, line=1) from exc
    header = [column.strip() for column in header]
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"not CSV: {exc}", path=path, line=reader.line_num) from exc
        if not fields or all(not field.strip() for field in fields):
            raise DataError("empty line", path=path, line=reader.line_num)
        if len(fields) > len(header):
            raise DataError(
                f"{len(fields)} fields but the header has {len(header)} (quote fields with commas)",
                path=path,
                line=reader.line_num,
            )
        fields += [""] * (len(header) - len(fields))  # a short row: its last columns are empty
        yield reader.line_num, dict(zip(header, fields, strict=True))


def _field(row: Mapping[str, object], key: str, line: int, path: str) -> str:
    for name in _COLUMNS[key]:
        if name in row:
            value = row[name]
            if not isinstance(value, str):
                raise DataError(
                    f"column {name!r} must be a string, got {type(value).__name__}",
                    path=path,
                    line=line,
                )
            if not value.strip():
                raise DataError(f"column {name!r} is empty", path=path, line=line)
            return value
    raise DataError(
        f"missing column {_COLUMNS[key][0]!r} (the row has {', '.join(map(repr, row)) or 'none'})",
        path=path,
        line=line,
    )


def _score(row: Mapping[str, object], line: int, path: str) -> float:
    value = row.get("score")
    if isinstance(value, bool) or value is None:
        raise DataError("missing column 'score'", path=path, line=line)
    try:
        score = float(value)  # type: ignore[arg-type]  # str or number, checked below
    except (TypeError, ValueError):
        raise DataError(f"score {value!r} is not a number", path=path, line=line) from None
    if score != score or score in (float("inf"), float("-inf")):
        raise DataError(f"score {value!r} is not a finite number", path=path, line=line)
    return score


def _item(
    task: Task, row: Mapping[str, object], line: int, path: str, labels: set[str] | None
) -> Item:
    if task == "classify":
        text = _field(row, "text", line, path)
        label = _field(row, "label", line, path).strip()
        if labels is not None and label not in labels:
            raise DataError(
                f"unknown label {label!r}; expected one of {', '.join(sorted(labels))}",
                path=path,
                line=line,
            )
        return ClassifyItem(text, label, line)
    if task == "embed":
        if any(name in row for name in _COLUMNS["query"]):
            return RetrievalItem(
                _field(row, "query", line, path), _field(row, "document", line, path), line
            )
        if any(name in row for name in (*_COLUMNS["text1"], *_COLUMNS["text2"])):
            return PairItem(
                _field(row, "text1", line, path),
                _field(row, "text2", line, path),
                _score(row, line, path),
                line,
            )
        raise DataError(
            "an embed row needs 'query' and 'document' (retrieval) or 'text1', 'text2' and "
            f"'score' (scored pair); the row has {', '.join(map(repr, row)) or 'none'}",
            path=path,
            line=line,
        )
    return GenerationItem(
        _field(row, "prompt", line, path), _field(row, "reference", line, path), line
    )
