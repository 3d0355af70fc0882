"""Normalisation and de-duplication, with a report of everything that was changed or dropped.

Texts are normalised (Unicode NFC, control characters dropped, whitespace collapsed) and then
de-duplicated on their case-folded form. A text that appears under several labels is a
*conflict*: it keeps its majority label, and when the labels tie it is dropped — training on
both would teach the model noise, and testing on it would score a coin toss. Every number
goes into :class:`PreprocessReport`, which the model card prints.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .data import LabelledRow
from .errors import TrainingError

Normalizer = Callable[[str], str]
_WHITESPACE = re.compile(r"\s+")
#: Conflicting texts listed in the report (they are also counted).
MAX_LISTED_CONFLICTS = 10


def normalize_text(text: str) -> str:
    """NFC, control and format characters removed (whitespace kept), whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    kept = "".join(
        ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    return _WHITESPACE.sub(" ", kept).strip()


@dataclass(frozen=True)
class Conflict:
    text: str
    labels: dict[str, int]  # label -> rows carrying it
    kept: str | None  # the majority label, None when the labels tie (dropped)


@dataclass
class PreprocessReport:
    rows: int = 0
    empty_text: int = 0
    changed_by_normalization: int = 0
    duplicates: int = 0  # rows merged into an earlier row with the same text
    conflicting_texts: int = 0  # distinct texts seen under more than one label
    conflicting_dropped: int = 0  # ... of which tied, hence dropped
    kept: int = 0
    per_label: dict[str, int] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)


@dataclass(frozen=True)
class Dataset:
    """De-duplicated examples: ``texts[i]`` has label ``labels[label_ids[i]]``."""

    texts: tuple[str, ...]
    label_ids: tuple[int, ...]
    labels: tuple[str, ...]  # sorted label names: their index is the model's class id

    @property
    def id2label(self) -> dict[str, str]:
        return {str(i): label for i, label in enumerate(self.labels)}


def preprocess(
    rows: Sequence[LabelledRow], *, normalizer: Normalizer = normalize_text
) -> tuple[Dataset, PreprocessReport]:
    """Normalise, drop empty texts, de-duplicate, resolve conflicts; check the label set.

    The order of first appearance is kept, so the result depends only on the input.
    """
    report = PreprocessReport(rows=len(rows))
    groups: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        text = normalizer(row.text)
        if text != row.text:
            report.changed_by_normalization += 1
        if not text:
            report.empty_text += 1
            continue
        groups.setdefault(text.casefold(), []).append((text, row.label))
    kept: list[tuple[str, str]] = []
    for members in groups.values():
        report.duplicates += len(members) - 1
        counts = Counter(label for _, label in members)
        ranked = counts.most_common()
        winner: str | None = ranked[0][0]
        if len(ranked) > 1:
            report.conflicting_texts += 1
            if ranked[0][1] == ranked[1][1]:
                winner = None
                report.conflicting_dropped += 1
            if len(report.conflicts) < MAX_LISTED_CONFLICTS:
                report.conflicts.append(
                    Conflict(members[0][0], dict(sorted(counts.items())), winner)
                )
        if winner is not None:
            kept.append((members[0][0], winner))
    labels = tuple(sorted({label for _, label in kept}))
    report.kept = len(kept)
    report.per_label = {label: 0 for label in labels}
    for _, label in kept:
        report.per_label[label] += 1
    _check_labels(report)
    index = {label: i for i, label in enumerate(labels)}
    dataset = Dataset(
        texts=tuple(text for text, _ in kept),
        label_ids=tuple(index[label] for _, label in kept),
        labels=labels,
    )
    return dataset, report


def _check_labels(report: PreprocessReport) -> None:
    labels = report.per_label
    if len(labels) < 2:
        found = f"only {next(iter(labels))!r}" if labels else "none"
        raise TrainingError(f"a classifier needs at least 2 labels; the data has {found}")
    if report.kept < 2 * len(labels):
        raise TrainingError(
            f"{report.kept} usable rows for {len(labels)} labels: at least "
            f"{2 * len(labels)} are needed (2 per label, one to train and one to test)"
        )
    thin = [label for label, count in labels.items() if count < 2]
    if thin:
        raise TrainingError(
            "each label needs at least 2 rows (one to train, one to test); "
            + ", ".join(f"{label!r} has {labels[label]}" for label in thin)
        )
