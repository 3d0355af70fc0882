"""The stratified train / test split, fixed by a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .errors import TrainingError
from .preprocess import Dataset


@dataclass(frozen=True)
class Split:
    """Indices into a :class:`Dataset`; every label is in both parts."""

    train: tuple[int, ...]
    test: tuple[int, ...]


def stratified_split(dataset: Dataset, *, test_fraction: float, seed: int) -> Split:
    """Per label, shuffle with ``random.Random(seed)`` and hold out ``round(n * fraction)``
    rows, at least one and never all of them; then shuffle each part. Same data and seed,
    same split, on any machine (``random`` is specified to be reproducible across platforms).
    """
    if not 0.0 < test_fraction < 1.0:
        raise TrainingError(f"the test split must be between 0 and 1, not {test_fraction}")
    rng = random.Random(seed)
    by_label: dict[int, list[int]] = {}
    for index, label in enumerate(dataset.label_ids):
        by_label.setdefault(label, []).append(index)
    train: list[int] = []
    test: list[int] = []
    for label in sorted(by_label):
        members = by_label[label]
        rng.shuffle(members)
        held_out = min(len(members) - 1, max(1, round(len(members) * test_fraction)))
        test += members[:held_out]
        train += members[held_out:]
    rng.shuffle(train)
    rng.shuffle(test)
    return Split(tuple(train), tuple(test))
