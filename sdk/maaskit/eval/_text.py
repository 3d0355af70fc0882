"""Scorers of generated text against a reference: built-in rules or a user's function."""

from __future__ import annotations

import importlib
import re
import string
import unicodedata
from collections.abc import Callable

__all__ = [
    "SCORERS",
    "ScorerError",
    "TextScorer",
    "contains",
    "exact",
    "normalize",
    "normalized",
    "regex",
    "resolve_scorer",
]

#: ``scorer(prediction, reference) -> float in [0, 1]``.
TextScorer = Callable[[str, str], float]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


class ScorerError(ValueError):
    """A scorer cannot be loaded, or it raised or returned something other than a score."""


def normalize(text: str) -> str:
    """SQuAD's answer normalisation (NFKC and casefold added): lower case, no punctuation,
    no English articles, single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact(prediction: str, reference: str) -> float:
    """1 when the prediction equals the reference, ignoring leading and trailing space."""
    return float(prediction.strip() == reference.strip())


def normalized(prediction: str, reference: str) -> float:
    """1 when both are equal after :func:`normalize`."""
    return float(normalize(prediction) == normalize(reference))


def contains(prediction: str, reference: str) -> float:
    """1 when the normalised reference occurs in the normalised prediction, word-aligned."""
    needle = normalize(reference)
    return float(bool(needle) and f" {needle} " in f" {normalize(prediction)} ")


def regex(prediction: str, reference: str) -> float:
    """1 when the reference, a regular expression, matches somewhere in the prediction."""
    return float(re.search(reference, prediction) is not None)


SCORERS: dict[str, TextScorer] = {
    "exact": exact,
    "normalized": normalized,
    "contains": contains,
    "regex": regex,
}


def resolve_scorer(scorer: str | TextScorer) -> TextScorer:
    """A built-in scorer's name, ``"package.module:function"``, or a callable."""
    if callable(scorer):
        return scorer
    if scorer in SCORERS:
        return SCORERS[scorer]
    module_name, colon, attribute = scorer.partition(":")
    if not colon or not module_name or not attribute:
        raise ScorerError(
            f"unknown scorer {scorer!r}: use one of {', '.join(SCORERS)} or 'module:function'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ScorerError(f"scorer {scorer!r}: cannot import {module_name!r} ({exc})") from exc
    except Exception as exc:  # the user's module raised while importing
        raise ScorerError(
            f"scorer {scorer!r}: importing {module_name!r} raised {type(exc).__name__}: {exc}"
        ) from exc
    function = getattr(module, attribute, None)
    if function is None:
        raise ScorerError(f"scorer {scorer!r}: {module_name!r} has no attribute {attribute!r}")
    if not callable(function):
        raise ScorerError(f"scorer {scorer!r}: {attribute!r} is not callable")
    return function  # type: ignore[no-any-return]


def apply_scorer(scorer: TextScorer, prediction: str, reference: str, *, where: str) -> float:
    """``scorer``'s value, checked to be a number in [0, 1]; ``where`` names the item."""
    try:
        value = scorer(prediction, reference)
    except Exception as exc:
        raise ScorerError(f"{where}: the scorer raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(value, (int, float)):  # bools pass: ``prediction == reference`` is 0 or 1
        raise ScorerError(f"{where}: the scorer returned {value!r}, not a number in [0, 1]")
    if not 0.0 <= value <= 1.0:
        raise ScorerError(f"{where}: the scorer returned {value!r}, outside [0, 1]")
    return float(value)
