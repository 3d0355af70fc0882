from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from maaskit_server.generation.params import SamplingParams
from maaskit_server.generation.sampling import (
    TokenSampler,
    apply_penalties,
    log_softmax,
    sample_rows,
    top_k_mask,
    top_p_probabilities,
)


def _logits(seed: int = 0, size: int = 50) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=size).astype(np.float32)


def test_greedy_takes_the_argmax() -> None:
    logits = _logits()
    sampler = TokenSampler(SamplingParams(temperature=0))
    assert sampler.sample(logits).token_id == int(np.argmax(logits))


def test_same_seed_gives_the_same_draws_and_another_seed_differs() -> None:
    logits = _logits(1)

    def draws(seed: int) -> list[int]:
        sampler = TokenSampler(SamplingParams(temperature=1.5, seed=seed))
        return [sampler.sample(logits).token_id for _ in range(30)]

    assert draws(42) == draws(42)
    assert draws(42) != draws(43)


def test_sampling_follows_the_distribution() -> None:
    logits = np.log(np.array([0.7, 0.2, 0.1], dtype=np.float64))
    sampler = TokenSampler(SamplingParams(temperature=1.0, seed=0))
    counts = np.bincount([sampler.sample(logits).token_id for _ in range(3000)], minlength=3)
    assert np.allclose(counts / 3000, [0.7, 0.2, 0.1], atol=0.03)


def test_top_k_keeps_only_the_k_best() -> None:
    logits = np.array([1.0, 5.0, 3.0, 4.0, 2.0])
    masked = top_k_mask(logits, 2)
    assert list(np.isfinite(masked)) == [False, True, False, True, False]
    assert top_k_mask(logits, 0) is logits
    sampler = TokenSampler(SamplingParams(temperature=2.0, top_k=2, seed=3))
    assert {sampler.sample(logits).token_id for _ in range(200)} == {1, 3}


def test_top_p_keeps_the_smallest_set_reaching_p() -> None:
    probs = np.array([0.1, 0.5, 0.25, 0.15])
    kept = top_p_probabilities(probs, 0.7)
    # 0.5 + 0.25 = 0.75 >= 0.7: tokens 1 and 2 survive, renormalised.
    assert kept.tolist() == pytest.approx([0.0, 0.5 / 0.75, 0.25 / 0.75, 0.0])
    # The most likely token survives even a tiny top_p.
    assert top_p_probabilities(probs, 0.01).tolist() == [0.0, 1.0, 0.0, 0.0]


def test_penalties_follow_openais_formula() -> None:
    logits = np.zeros(4)
    adjusted = apply_penalties(logits, {1: 3, 2: 1}, frequency_penalty=0.5, presence_penalty=1.0)
    assert adjusted.tolist() == [0.0, -(3 * 0.5 + 1.0), -(1 * 0.5 + 1.0), 0.0]
    assert logits.tolist() == [0.0, 0.0, 0.0, 0.0]  # the caller's row is not modified


def test_presence_penalty_stops_greedy_repetition() -> None:
    logits = np.array([0.0, 2.0, 1.5])
    plain = TokenSampler(SamplingParams(temperature=0))
    penalised = TokenSampler(SamplingParams(temperature=0, presence_penalty=1.0))
    assert [plain.sample(logits).token_id for _ in range(3)] == [1, 1, 1]
    # After 1 and 2 were both used once, each lost 1.0: [0, 1, 0.5] picks 1 again.
    assert [penalised.sample(logits).token_id for _ in range(3)] == [1, 2, 1]


def test_logprobs_are_the_models_log_softmax_with_sorted_alternatives() -> None:
    logits = np.array([2.0, 1.0, 0.5, -1.0], dtype=np.float32)
    sampler = TokenSampler(SamplingParams(temperature=0, logprobs=True, top_logprobs=3))
    token = sampler.sample(logits)
    expected = log_softmax(logits)
    assert math.isclose(float(np.exp(expected).sum()), 1.0, rel_tol=1e-9)
    assert token.token_id == 0
    assert token.logprob == pytest.approx(float(expected[0]))
    assert [i for i, _ in token.top_logprobs] == [0, 1, 2]
    assert [lp for _, lp in token.top_logprobs] == pytest.approx(expected[:3].tolist())


def test_sample_rows_picks_what_each_rows_sampler_would() -> None:
    logits = np.random.default_rng(5).normal(size=(5, 64)).astype(np.float32)
    kinds = [
        SamplingParams(temperature=0),
        SamplingParams(temperature=0.8, seed=3),
        SamplingParams(temperature=0, logprobs=True, top_logprobs=2),
        SamplingParams(temperature=0, frequency_penalty=1.0),
        SamplingParams(temperature=0),
    ]
    batched = [TokenSampler(params) for params in kinds]
    alone = [TokenSampler(params) for params in kinds]
    for _ in range(4):  # repeated draws: penalties and seeded generators move on identically
        got = sample_rows(batched, logits)
        assert got == [sampler.sample(row) for sampler, row in zip(alone, logits, strict=True)]
    assert [sampler.plain_argmax for sampler in batched] == [True, False, False, False, True]


@pytest.mark.parametrize("offset", [0.0, -100.0])  # scores that overflow to +inf, or all -inf
def test_a_vanishing_temperature_is_greedy_within_the_allowed_tokens(offset: float) -> None:
    # 5e-324 (the smallest float, valid as "> 0"): the scores overflowed, softmax was NaN and
    # the draw took the last token, even one the grammar's mask forbids (a 500 on TGI).
    logits = _logits() + np.float32(offset)
    allowed = np.zeros(logits.shape[0], dtype=bool)
    allowed[[3, 7]] = True
    sampler = TokenSampler(SamplingParams(temperature=5e-324, seed=0))
    token = sampler.sample(logits, allowed).token_id
    assert token == (3 if logits[3] > logits[7] else 7)


def test_a_vanishing_repetition_penalty_stays_within_the_allowed_tokens_without_warnings() -> None:
    # repetition_penalty=5e-324 (the smallest float) divides a positive score past the float
    # limit (+inf): numpy warned "overflow encountered in divide" (seen in the fuzz run's log).
    logits = np.abs(_logits()) + np.float32(1.0)  # all positive: every seen score overflows
    allowed = np.zeros(logits.shape[0], dtype=bool)
    allowed[[3, 7]] = True
    params = SamplingParams(temperature=1.0, repetition_penalty=5e-324, seed=0)
    sampler = TokenSampler(params, prompt_ids=[3, 11])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        token = sampler.sample(logits, allowed).token_id
    assert token == 3  # its score is +inf (seen), 7's is finite: the penalty's limit
