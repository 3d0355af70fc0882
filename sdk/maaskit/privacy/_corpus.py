"""The shipped synthetic PII corpus and per-kind recall and precision of a detector on it.

The corpus (``corpus/pii-corpus.jsonl.gz``, 5,600 sentences in seven locales, labelled spans
plus hard negatives) is made by ``maaskit_server._build.pii_corpus`` from a fixed seed.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ._detection import Detection

__all__ = ["CorpusRow", "KindScore", "Report", "evaluate", "load_corpus"]

STRUCTURED_KINDS: tuple[str, ...] = (
    "EMAIL", "PHONE", "CARD", "IBAN", "IP_ADDRESS", "SSN", "NATIONAL_ID", "SECRET",
)  # fmt: skip
MODEL_KINDS: tuple[str, ...] = ("PERSON", "ORG", "LOCATION")


@dataclass(frozen=True)
class CorpusRow:
    """One labelled sentence: ``spans`` are ``(start, end, kind)``."""

    id: int
    locale: str
    split: str
    text: str
    spans: tuple[tuple[int, int, str], ...]
    negatives: tuple[str, ...] = ()


def load_corpus(split: str | None = None) -> list[CorpusRow]:
    """The shipped corpus; ``split`` ``"train"`` or ``"test"`` selects one part."""
    data = (
        resources.files(__package__).joinpath("corpus").joinpath("pii-corpus.jsonl.gz").read_bytes()
    )
    rows = []
    for line in gzip.decompress(data).decode().splitlines():
        raw: dict[str, Any] = json.loads(line)
        if split is not None and raw["split"] != split:
            continue
        rows.append(
            CorpusRow(
                id=raw["id"],
                locale=raw["locale"],
                split=raw["split"],
                text=raw["text"],
                spans=tuple((int(s), int(e), str(k)) for s, e, k in raw["spans"]),
                negatives=tuple(raw["negatives"]),
            )
        )
    return rows


@dataclass(frozen=True)
class KindScore:
    """Exact-span scores of one kind: a detection counts only with the same start, end and
    kind as a label."""

    kind: str
    labelled: int
    detected: int
    correct: int

    @property
    def recall(self) -> float:
        return self.correct / self.labelled if self.labelled else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.detected if self.detected else 1.0


@dataclass
class Report:
    """Per-kind scores, and the sentences a detector got wrong (for debugging the rules)."""

    scores: dict[str, KindScore]
    sentences: int
    misses: list[tuple[CorpusRow, list[tuple[int, int, str]]]] = field(default_factory=list)

    def table(self) -> str:
        """A Markdown table: kind, labelled, recall, precision."""
        lines = ["| kind | labelled | recall | precision |", "|---|---:|---:|---:|"]
        for score in self.scores.values():
            lines.append(
                f"| {score.kind} | {score.labelled} | {score.recall:.3f} | {score.precision:.3f} |"
            )
        return "\n".join(lines)


def evaluate(
    detect: Callable[[str], Sequence[Detection]],
    rows: Iterable[CorpusRow],
    *,
    kinds: Sequence[str] = STRUCTURED_KINDS,
) -> Report:
    """Run ``detect`` (e.g. ``Masker().detect``) on every row and score the ``kinds``."""
    labelled = dict.fromkeys(kinds, 0)
    detected = dict.fromkeys(kinds, 0)
    correct = dict.fromkeys(kinds, 0)
    misses = []
    count = 0
    for row in rows:
        count += 1
        gold = {span for span in row.spans if span[2] in labelled}
        found = {(d.start, d.end, d.kind) for d in detect(row.text) if d.kind in labelled}
        for _, _, kind in gold:
            labelled[kind] += 1
        for _, _, kind in found:
            detected[kind] += 1
        for _, _, kind in gold & found:
            correct[kind] += 1
        if gold != found:
            misses.append((row, sorted(found)))
    scores = {
        kind: KindScore(kind, labelled[kind], detected[kind], correct[kind]) for kind in kinds
    }
    return Report(scores=scores, sentences=count, misses=misses)
