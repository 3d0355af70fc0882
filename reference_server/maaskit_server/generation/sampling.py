"""Choosing the next token from a row of logits: penalties, temperature, top-k, top-p, seeds.

Every sequence owns a :class:`TokenSampler` with its own random generator, so a seeded request
draws the same tokens whatever else runs in the same batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from maaskit_server.generation.params import SamplingParams

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SampledToken:
    token_id: int
    # Log-probability under the model's own distribution (before penalties and temperature),
    # which is what OpenAI-compatible servers report as `logprob`.
    logprob: float
    top_logprobs: tuple[tuple[int, float], ...] = ()


def log_softmax(logits: npt.NDArray[np.floating]) -> FloatArray:
    shifted = logits.astype(np.float64) - np.max(logits)
    result: FloatArray = shifted - np.log(np.sum(np.exp(shifted)))
    return result


def apply_penalties(
    logits: FloatArray,
    counts: dict[int, int],
    frequency_penalty: float,
    presence_penalty: float,
) -> FloatArray:
    """OpenAI's definition: subtract ``count * frequency + (count > 0) * presence`` per token."""
    if not counts or (frequency_penalty == 0.0 and presence_penalty == 0.0):
        return logits
    adjusted: FloatArray = logits.copy()
    ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    seen = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    adjusted[ids] -= seen * frequency_penalty + presence_penalty
    return adjusted


def top_k_mask(logits: FloatArray, top_k: int) -> FloatArray:
    """Set every logit below the k-th largest to -inf; ``top_k <= 0`` keeps all."""
    if top_k <= 0 or top_k >= logits.shape[0]:
        return logits
    kth_largest = np.partition(logits, -top_k)[-top_k]
    masked: FloatArray = np.where(logits < kth_largest, -np.inf, logits)
    return masked


def top_p_probabilities(probs: FloatArray, top_p: float) -> FloatArray:
    """Keep the smallest set of most likely tokens whose mass reaches ``top_p``; renormalise."""
    if top_p >= 1.0:
        return probs
    order = np.argsort(-probs, kind="stable")
    cumulative = np.cumsum(probs[order])
    # Number of tokens needed to reach top_p; the most likely token is always kept.
    keep = int(np.searchsorted(cumulative, top_p, side="left")) + 1
    kept = np.zeros_like(probs)
    chosen = order[:keep]
    kept[chosen] = probs[chosen]
    result: FloatArray = kept / kept.sum()
    return result


def min_p_probabilities(probs: FloatArray, min_p: float) -> FloatArray:
    """Drop tokens less likely than ``min_p`` times the most likely one; renormalise."""
    if min_p <= 0.0:
        return probs
    kept: FloatArray = np.where(probs >= min_p * probs.max(), probs, 0.0)
    result: FloatArray = kept / kept.sum()
    return result


def softmax(logits: FloatArray) -> FloatArray:
    finite_max = np.max(logits)
    weights = np.exp(logits - finite_max)
    result: FloatArray = weights / weights.sum()
    return result


class TokenSampler:
    """Picks tokens for one sequence and remembers what it generated (for the penalties)."""

    def __init__(
        self,
        params: SamplingParams,
        *,
        prompt_ids: Sequence[int] = (),
        eos_token_ids: Sequence[int] = (),
    ) -> None:
        self.params = params
        self.generated = 0
        # repetition_penalty (vLLM's, after CTRL) counts the prompt's tokens as seen too.
        self._seen: set[int] = set(prompt_ids) if params.repetition_penalty != 1.0 else set()
        # Held back until min_tokens were generated.
        self._enders = np.asarray(sorted({*eos_token_ids, *params.stop_token_ids}), np.int64)
        self._bias_ids = np.asarray([token for token, _ in params.logit_bias], np.int64)
        self._bias = np.asarray([bias for _, bias in params.logit_bias], np.float64)
        self._allowed = np.asarray(params.allowed_token_ids, np.int64)
        # Seeds span vLLM's signed 64-bit range; numpy takes the same bits as unsigned.
        seed = None if params.seed is None else params.seed % 2**64
        self._rng = np.random.default_rng(seed)
        self._counts: dict[int, int] = {}
        # Greedy without penalties or logprobs is a bare argmax, which sample_rows() does for
        # the whole batch at once; the counts it skips only ever feed the penalties.
        self.plain_argmax = (
            params.greedy
            and not params.logprobs
            and params.frequency_penalty == 0.0
            and params.presence_penalty == 0.0
            and params.repetition_penalty == 1.0
            and not params.logit_bias
            and not params.allowed_token_ids
            and params.min_tokens == 0
        )

    def sample(
        self, logits: npt.NDArray[np.floating], allowed: BoolArray | None = None
    ) -> SampledToken:
        """The next token; ``allowed`` (a grammar's mask) rules out every other token id."""
        params = self.params
        scores = apply_penalties(
            logits.astype(np.float64),
            self._counts,
            params.frequency_penalty,
            params.presence_penalty,
        )
        scores = self._adjust(scores)
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        scaled = scores
        if not params.greedy:
            with np.errstate(over="ignore"):
                scaled = scores / params.temperature
        if params.greedy or not np.isfinite(scaled.max()):
            # Greedy, or a temperature so small that the scores overflow (5e-324 made them
            # inf, and softmax NaN: the draw then took a token the grammar forbids): its limit.
            token_id = int(np.argmax(scores))
        else:
            scores = top_k_mask(scaled, params.top_k)
            probs = min_p_probabilities(
                top_p_probabilities(softmax(scores), params.top_p), params.min_p
            )
            # Inverse-CDF draw: one uniform number per token keeps seeded runs reproducible.
            cumulative = np.cumsum(probs)
            draw = self._rng.random() * cumulative[-1]
            token_id = int(np.searchsorted(cumulative, draw, side="right"))
            if token_id >= probs.shape[0] or probs[token_id] == 0.0:
                # Float rounding at the very top of the CDF: take the last possible token.
                token_id = int(np.flatnonzero(probs)[-1])
        self._counts[token_id] = self._counts.get(token_id, 0) + 1
        self.generated += 1
        if self.params.repetition_penalty != 1.0:
            self._seen.add(token_id)
        return self._describe(logits, token_id)

    def _adjust(self, scores: FloatArray) -> FloatArray:
        """repetition_penalty, logit_bias, allowed_token_ids and min_tokens, as vLLM applies
        them (before temperature); each costs nothing at its default."""
        params = self.params
        if self._seen:
            seen = np.fromiter(self._seen, dtype=np.int64, count=len(self._seen))
            values = scores[seen]
            penalty = params.repetition_penalty
            # A penalty near 0 or near the float limit overflows a score to +-inf, which is
            # that penalty's limit: sample() takes the argmax when the scores are not finite.
            with np.errstate(over="ignore"):
                scores[seen] = np.where(values > 0, values / penalty, values * penalty)
        if self._bias_ids.size:
            scores[self._bias_ids] += self._bias
        if self._allowed.size:
            only = np.full_like(scores, -np.inf)
            only[self._allowed] = scores[self._allowed]
            scores = only
        if self.generated < params.min_tokens and self._enders.size:
            scores[self._enders] = -np.inf
        return scores

    def _describe(self, logits: npt.NDArray[np.floating], token_id: int) -> SampledToken:
        if not self.params.logprobs:
            return SampledToken(token_id=token_id, logprob=0.0)
        logprobs = log_softmax(logits)
        top: tuple[tuple[int, float], ...] = ()
        k = self.params.top_logprobs
        if k > 0:
            candidates = np.argpartition(-logprobs, k - 1)[:k]
            ordered = candidates[np.argsort(-logprobs[candidates], kind="stable")]
            top = tuple((int(i), float(logprobs[i])) for i in ordered)
        return SampledToken(token_id=token_id, logprob=float(logprobs[token_id]), top_logprobs=top)


def sample_rows(
    samplers: Sequence[TokenSampler],
    logits: npt.NDArray[np.floating],
    masks: Sequence[BoolArray | None] | None = None,
) -> list[SampledToken]:
    """One token per row of ``logits`` ``[B, V]``, each as its own sampler would pick it.

    Plain greedy rows share one vectorised argmax (float32 and float64 order the same values
    identically, so the choice is the sampler's); the others go through their sampler. A plain
    row's ``logprob`` is a 0.0 placeholder: plain rows are exactly those whose request did not
    ask for log-probabilities (TGI's routes always ask), so it is never reported.

    ``masks[row]``, when given, is the set of tokens a grammar allows in that row; rows without
    one are sampled from the whole vocabulary, so constrained and free rows share a batch.
    Reported log-probabilities stay the model's own, before the mask (as vLLM reports them).
    """
    row_masks: Sequence[BoolArray | None] = masks if masks is not None else [None] * len(samplers)
    plain = [
        sampler.plain_argmax and row_masks[row] is None for row, sampler in enumerate(samplers)
    ]
    best: list[int] = logits.argmax(axis=1).tolist() if any(plain) else []
    return [
        _plain_token(best[row]) if plain[row] else sampler.sample(logits[row], row_masks[row])
        for row, sampler in enumerate(samplers)
    ]


# A plain row's token is its id and the 0.0 placeholder: immutable, so one object per id serves
# every row (building a frozen dataclass per token cost ~0.5 us). At most one per vocabulary id.
_PLAIN_TOKENS: dict[int, SampledToken] = {}


def _plain_token(token_id: int) -> SampledToken:
    token = _PLAIN_TOKENS.get(token_id)
    if token is None:
        token = _PLAIN_TOKENS[token_id] = SampledToken(token_id=token_id, logprob=0.0)
    return token
