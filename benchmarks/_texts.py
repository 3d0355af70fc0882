"""Deterministic benchmark sentences of about 17 tokens, like short user messages."""

from __future__ import annotations

import random

_SUBJECTS = [
    "The new phone",
    "Our support team",
    "This little cafe",
    "The latest update",
    "My morning train",
    "The hotel room",
    "That documentary",
    "The delivery driver",
]
_VERBS = [
    "really surprised me with",
    "was disappointing because of",
    "keeps improving thanks to",
    "is completely fine despite",
    "made my week better with",
    "annoyed everyone with",
]
_OBJECTS = [
    "its battery life and the screen",
    "the slow replies over the weekend",
    "a friendly welcome and fresh bread",
    "several bugs in the settings menu",
    "endless delays near the central station",
    "a quiet view over the river",
]


def sentences(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}."
        for _ in range(count)
    ]


def mixed_lengths(count: int, seed: int = 11, shortest: int = 5, longest: int = 240) -> list[str]:
    """Texts of ``shortest``-``longest`` words (about as many tokens), log-uniformly spread:
    many short messages and some long documents, in random order."""
    rng = random.Random(seed)
    words = " ".join(_SUBJECTS + _VERBS + _OBJECTS).lower().split()
    texts = []
    for _ in range(count):
        length = round(shortest * (longest / shortest) ** rng.random())
        texts.append(" ".join(rng.choice(words) for _ in range(length)))
    return texts
