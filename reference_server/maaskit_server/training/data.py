"""Reading labelled rows from a CSV or JSON Lines file, with every refusal named.

The file is read as strict UTF-8 (a byte-order mark is accepted): a file in another encoding is
refused with the offset of the first bad byte instead of being read with replacement characters
the model would then learn.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from .errors import TrainingError

FORMATS = ("csv", "jsonl")


@dataclass(frozen=True)
class LabelledRow:
    """One row as read: its 1-based line (CSV: record) number, text and label."""

    line: int
    text: str
    label: str


@dataclass(frozen=True)
class RawData:
    path: Path
    sha256: str
    format: str
    rows: tuple[LabelledRow, ...]


def file_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson"):
        return "jsonl"
    if suffix in ("csv", "tsv"):
        return "csv"
    raise TrainingError(f"{path}: unknown data format {path.suffix!r}; use .csv or .jsonl")


def read_rows(path: Path, *, text_column: str, label_column: str) -> RawData:
    """Read ``(text, label)`` rows; raise :class:`TrainingError` naming the first problem.

    Labels are stripped of surrounding whitespace; an empty label is refused (row named), so a
    partly-labelled export is noticed rather than trained as if it had a class ``""``.
    """
    fmt = file_format(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TrainingError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise TrainingError(
            f"{path} is not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}, offset "
            f"{exc.start}); re-save it as UTF-8"
        ) from exc
    if fmt == "csv":
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        rows = _csv_rows(path, text, text_column, label_column, delimiter)
    else:
        rows = _jsonl_rows(path, text, text_column, label_column)
    if not rows:
        raise TrainingError(f"{path} has no data rows")
    return RawData(path, hashlib.sha256(raw).hexdigest(), fmt, tuple(rows))


def _csv_rows(
    path: Path, text: str, text_column: str, label_column: str, delimiter: str
) -> list[LabelledRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = reader.fieldnames or []
    for wanted, option in ((text_column, "--text-column"), (label_column, "--label-column")):
        if wanted not in columns:
            found = ", ".join(repr(c) for c in columns) or "none"
            raise TrainingError(f"{path} has no column {wanted!r} ({option}); its columns: {found}")
    rows = []
    try:
        for record in reader:
            line = reader.line_num
            rows.append(_row(path, line, record.get(text_column), record.get(label_column)))
    except csv.Error as exc:
        raise TrainingError(f"{path}: malformed CSV near line {reader.line_num}: {exc}") from exc
    return rows


def _jsonl_rows(path: Path, text: str, text_column: str, label_column: str) -> list[LabelledRow]:
    rows = []
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            record = json.loads(content)
        except ValueError as exc:
            raise TrainingError(f"{path}: line {line} is not JSON: {exc}") from exc
        if not isinstance(record, dict):
            raise TrainingError(f"{path}: line {line} is not a JSON object")
        for wanted, option in ((text_column, "--text-column"), (label_column, "--label-column")):
            if wanted not in record:
                found = ", ".join(repr(k) for k in record) or "none"
                raise TrainingError(
                    f"{path}: line {line} has no field {wanted!r} ({option}); its fields: {found}"
                )
        value = record[text_column]
        if value is not None and not isinstance(value, str):
            raise TrainingError(f"{path}: line {line}: {text_column!r} is not a string")
        label = record[label_column]
        if isinstance(label, (dict, list)):
            raise TrainingError(f"{path}: line {line}: {label_column!r} is not a single value")
        rows.append(_row(path, line, value, None if label is None else str(label)))
    return rows


def _row(path: Path, line: int, text: str | None, label: str | None) -> LabelledRow:
    label = (label or "").strip()
    if not label:
        raise TrainingError(f"{path}: row at line {line} has an empty label")
    return LabelledRow(line, text or "", label)
