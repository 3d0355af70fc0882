"""The shipped corpus and the rule detectors' recall and precision on it."""

from __future__ import annotations

from collections import Counter

import pytest
from maaskit.privacy import Masker, evaluate, load_corpus

STRUCTURED = ("EMAIL", "PHONE", "CARD", "IBAN", "IP_ADDRESS", "SSN", "NATIONAL_ID", "SECRET")


@pytest.fixture(scope="module")
def corpus() -> list:  # type: ignore[type-arg]
    return load_corpus()


def test_the_corpus_is_what_the_docs_say(corpus: list) -> None:  # type: ignore[type-arg]
    assert len(corpus) >= 5000
    assert {row.locale for row in corpus} >= {"en_US", "de_DE", "fr_FR", "es_ES", "it_IT"}
    kinds = Counter(span[2] for row in corpus for span in row.spans)
    for kind in (*STRUCTURED, "PERSON", "ORG", "LOCATION"):
        assert kinds[kind] >= 50, kind
    negatives = Counter(tag for row in corpus for tag in row.negatives)
    for tag in ("ORDER", "DATE", "VERSION", "ISBN"):
        assert negatives[tag] >= 200, tag
    assert {row.split for row in corpus} == {"train", "test"}
    for row in corpus[:500]:
        for start, end, _ in row.spans:
            assert 0 <= start < end <= len(row.text)


def test_rule_detectors_meet_the_bar(corpus: list) -> None:  # type: ignore[type-arg]
    report = evaluate(Masker().detect, corpus, kinds=STRUCTURED)
    print(report.table())
    for kind in STRUCTURED:
        score = report.scores[kind]
        assert score.recall >= 0.99, (kind, score)
        assert score.precision >= 0.95, (kind, score)


def test_hard_negative_sentences_are_left_alone(corpus: list) -> None:  # type: ignore[type-arg]
    masker = Masker()
    negatives = [row for row in corpus if not row.spans]
    assert len(negatives) > 300
    leaked = [row.text for row in negatives if masker.detect(row.text)]
    assert leaked == []
