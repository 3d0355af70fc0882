"""The scorers against hand computations on tiny cases."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from maaskit.eval import (
    OTHER_LABEL,
    ScorerError,
    apply_scorer,
    contains,
    exact,
    normalized,
    pareto_front,
    percentile,
    rank_average,
    regex,
    resolve_scorer,
    score_classification,
    score_retrieval,
    spearman,
)


def test_classification_metrics_by_hand() -> None:
    truth = ["neg", "neg", "neg", "neu", "neu", "pos", "pos", "pos"]
    guess = ["neg", "neg", "neu", "neu", "pos", "pos", "pos", "neg"]
    scores = score_classification(truth, guess, ["neg", "neu", "pos"])
    # neg: tp 2, predicted 3, actual 3 → P 2/3 R 2/3 F1 2/3
    # neu: tp 1, predicted 2, actual 2 → P 1/2 R 1/2 F1 1/2
    # pos: tp 2, predicted 3, actual 3 → P 2/3 R 2/3 F1 2/3
    assert scores.accuracy == pytest.approx(5 / 8)
    assert scores.per_class["neu"].precision == pytest.approx(0.5)
    assert scores.per_class["neg"].recall == pytest.approx(2 / 3)
    assert scores.macro_f1 == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)
    assert scores.confusion == [[2, 1, 0], [0, 1, 1], [1, 0, 2]]
    assert scores.columns == ["neg", "neu", "pos"]


def test_classification_counts_foreign_labels_as_other_and_zero_division_as_zero() -> None:
    scores = score_classification(["a", "a", "b"], ["LABEL_0", "a", "LABEL_1"], ["a", "b"])
    assert scores.columns == ["a", "b", OTHER_LABEL]
    assert scores.confusion == [[1, 0, 1], [0, 0, 1]]
    assert scores.per_class["b"].precision == 0.0  # never predicted
    assert scores.per_class["a"].f1 == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert scores.macro_f1 == pytest.approx((2 / 3 + 0) / 2)


def test_retrieval_recall_and_mrr_by_hand() -> None:
    documents = [[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [-1.0, 0.0], [0.0, -1.0], [-0.7, -0.7]]
    # Query 0 → doc 0 is nearest (rank 1). Query 1 → doc 1, but [0.1, 1] is closer to doc 1
    # than doc 2, rank 1. Query 2 along [1, 0.05] wants doc 2: doc 0 is closer → rank 2.
    # Query 3 along [0, -1] wants doc 1, the one opposite it (cosine -1, all others higher):
    # rank 6, outside the first five.
    queries = [[1.0, 0.0], [0.1, 1.0], [1.0, 0.05], [0.0, -1.0]]
    scores = score_retrieval(queries, documents, [0, 1, 2, 1])
    assert scores.recall_at_1 == pytest.approx(2 / 4)
    assert scores.recall_at_5 == pytest.approx(3 / 4)
    assert scores.mrr == pytest.approx((1 + 1 + 1 / 2 + 1 / 6) / 4)


def test_retrieval_tie_counts_against_the_right_document() -> None:
    same = [[1.0, 0.0], [1.0, 0.0]]
    scores = score_retrieval([[1.0, 0.0]], same, [1])
    assert scores.recall_at_1 == 0.0
    assert scores.mrr == pytest.approx(0.5)


def test_average_ranks_with_ties() -> None:
    assert rank_average([10, 20, 20, 5, 20]) == [2.0, 4.0, 4.0, 1.0, 4.0]


def test_spearman_by_hand_with_ties() -> None:
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert spearman(x, [5.0, 6.0, 7.0, 8.0, 100.0]) == pytest.approx(1.0)
    assert spearman(x, [9.0, 7.0, 5.0, 3.0, 1.0]) == pytest.approx(-1.0)
    # y ranks with a tie: [1, 2.5, 2.5, 4]; x ranks [1, 2, 3, 4]; mean 2.5 both.
    # cov = (-1.5)(-1.5) + (-0.5)(0) + (0.5)(0) + (1.5)(1.5) = 4.5
    # var x = 5, var y = 2.25 + 0 + 0 + 2.25 = 4.5 → rho = 4.5 / sqrt(22.5)
    assert spearman([1, 2, 3, 4], [1, 2, 2, 3]) == pytest.approx(4.5 / math.sqrt(22.5))
    assert math.isnan(spearman([1, 2, 3], [4, 4, 4]))


def test_text_scorers() -> None:
    assert exact(" Paris ", "Paris") == 1.0
    assert exact("paris", "Paris") == 0.0
    assert normalized("The Paris!", "paris") == 1.0
    assert contains("It is Paris, of course.", "paris") == 1.0
    assert contains("Parisian food", "Paris") == 0.0  # word-aligned
    assert regex("answer: 42", r"\b4\d\b") == 1.0
    assert regex("answer: 7", r"\b4\d\b") == 0.0


def test_user_scorer_by_module_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_scorers.py").write_text(
        "def length_ratio(prediction, reference):\n"
        "    return min(len(prediction), len(reference)) / max(len(prediction), len(reference))\n"
        "def broken(prediction, reference):\n"
        "    return 1.5\n"
        "value = 3\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    scorer = resolve_scorer("my_scorers:length_ratio")
    assert apply_scorer(scorer, "abcd", "ab", where="x") == pytest.approx(0.5)
    with pytest.raises(ScorerError, match=r"line 3: the scorer returned 1.5, outside \[0, 1\]"):
        apply_scorer(resolve_scorer("my_scorers:broken"), "a", "b", where="data.jsonl, line 3")
    with pytest.raises(ScorerError, match="'value' is not callable"):
        resolve_scorer("my_scorers:value")
    with pytest.raises(ScorerError, match="has no attribute 'nope'"):
        resolve_scorer("my_scorers:nope")
    sys.modules.pop("my_scorers", None)


def test_scorer_that_does_not_import() -> None:
    with pytest.raises(ScorerError, match="cannot import 'no_such_module_xyz'"):
        resolve_scorer("no_such_module_xyz:score")
    with pytest.raises(ScorerError, match="unknown scorer 'fuzzy'"):
        resolve_scorer("fuzzy")


def test_percentile_is_nearest_rank_like_the_ledger() -> None:
    values = [40.0, 10.0, 30.0, 20.0]
    assert percentile(values, 50) == 20.0  # rank ceil(0.5 * 4) = 2
    assert percentile(values, 95) == 40.0  # rank ceil(0.95 * 4) = 4
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_pareto_front() -> None:
    # (cost, quality): b dominates c (cheaper and better); a and d are on the front.
    points = [(0.0, 0.5), (1.0, 0.8), (2.0, 0.7), (3.0, 0.9)]
    assert pareto_front(points) == [0, 1, 3]
