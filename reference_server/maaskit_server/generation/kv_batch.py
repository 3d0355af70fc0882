"""The running batch of a continuous-batching engine: one onnxruntime call per decode step.

Sequences of different lengths share a step by left-padding their KV caches to a common length;
the attention mask hides the padding and ``position_ids`` carry each sequence's true position,
so a sequence's logits do not depend on what else is in the batch. Sequences that arrive together
are prefilled in one call, left-padded the same way, and merged at the next step; finished ones
are dropped at the next step.

Models without a past (or ``use_cache=False``) re-feed every sequence's full token list,
left-padded the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from maaskit_server.generation.onnx_model import FloatArray, IntArray, OnnxCausalLM

Key = TypeVar("Key", bound=Hashable)


@dataclass
class _Joining:
    tokens: list[int]
    past: list[FloatArray]  # each [1, heads, length, head_dim]; empty without a cache


class DecodeBatch(Generic[Key]):
    def __init__(
        self,
        model: OnnxCausalLM,
        use_cache: bool = True,
        before_forward: Callable[[], None] | None = None,
    ) -> None:
        self.model = model
        self.use_cache = use_cache and model.kv is not None
        # Called with the inputs ready, right before each onnxruntime call: work handed to other
        # threads there overlaps with the call, which releases the GIL.
        self.before_forward = before_forward
        self._keys: list[Key] = []
        self._tokens: list[list[int]] = []  # every token fed so far, per row
        self._past: list[FloatArray] = []  # each [B, heads, L, head_dim], left-padded
        self._mask: IntArray = np.zeros((0, 0), dtype=np.int64)
        self._joining: dict[Key, _Joining] = {}
        self._removed: set[Key] = set()

    @property
    def size(self) -> int:
        return len(self._keys) - len(self._removed) + len(self._joining)

    @property
    def keys(self) -> list[Key]:
        """The sequences of the last step, in row order (joining ones are not there yet)."""
        return self._keys

    def prefill(self, key: Key, prompt_ids: Sequence[int]) -> FloatArray:
        """Run the prompt alone; returns the next-token logits ``[V]``. Joins at the next step."""
        result: FloatArray = self.prefill_many([(key, prompt_ids)])[0]
        return result

    def prefill_many(self, prompts: Sequence[tuple[Key, Sequence[int]]]) -> FloatArray:
        """Run several prompts in one call, left-padded; returns next-token logits ``[N, V]``.

        Each joins at the next step exactly as if it had been prefilled alone.
        """
        keys = [key for key, _ in prompts]
        if len(set(keys)) != len(keys) or any(k in self._joining or k in self._keys for k in keys):
            raise ValueError("a sequence is already in the batch")
        lengths = [len(ids) for _, ids in prompts]
        width = max(lengths, default=0)
        if not prompts or min(lengths) < 1:
            raise ValueError("prefill needs at least one non-empty prompt")
        ids = np.zeros((len(prompts), width), dtype=np.int64)
        mask = np.zeros((len(prompts), width), dtype=np.int64)
        for row, (_, prompt) in enumerate(prompts):
            ids[row, width - len(prompt) :] = prompt
            mask[row, width - len(prompt) :] = 1
        positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0)
        logits, present = self._forward(ids, mask, positions, None)
        for row, ((key, prompt), length) in enumerate(zip(prompts, lengths, strict=True)):
            # Views, not copies: the next regroup copies them into the batch's own arrays.
            past = [layer[row : row + 1, :, width - length :, :] for layer in present]
            self._joining[key] = _Joining(list(prompt), past if self.use_cache else [])
        result: FloatArray = logits[:, -1]
        return result

    def fork(self, key: Key, source: Key) -> bool:
        """Join ``key`` with a copy of ``source``'s prefill (the other choices of one prompt).

        Only while ``source`` has not stepped yet; returns False when that is no longer so.
        """
        joining = self._joining.get(source)
        if joining is None or key in self._joining or key in self._keys:
            return False
        # The arrays are never written in place (steps return new ones), so sharing is safe.
        self._joining[key] = _Joining(list(joining.tokens), list(joining.past))
        return True

    def remove(self, key: Key) -> None:
        if self._joining.pop(key, None) is None and key in self._keys:
            self._removed.add(key)

    def step(self, next_tokens: dict[Key, int]) -> dict[Key, FloatArray]:
        """Feed one token to every sequence; returns each sequence's next-token logits ``[V]``."""
        logits = self.step_rows(next_tokens)
        return {key: logits[row] for row, key in enumerate(self._keys)}

    def step_rows(self, next_tokens: dict[Key, int]) -> FloatArray:
        """Like :meth:`step`, but returns the logits ``[B, V]`` in the row order of ``keys``."""
        if self._joining or self._removed:
            self._regroup()
        if len(next_tokens) != len(self._keys) or not all(k in next_tokens for k in self._keys):
            raise ValueError("step() needs exactly one next token for every sequence in the batch")
        if not self._keys:
            return np.zeros((0, self.model.vocab_size or 0), dtype=np.float32)
        fed = [next_tokens[key] for key in self._keys]
        for tokens, token in zip(self._tokens, fed, strict=True):
            tokens.append(token)
        return self._step_cached(fed) if self.use_cache else self._step_refeed()

    def _step_cached(self, fed: list[int]) -> FloatArray:
        batch = len(fed)
        ids = np.asarray(fed, dtype=np.int64)[:, None]
        mask = np.concatenate([self._mask, np.ones((batch, 1), dtype=np.int64)], axis=1)
        # The cache holds every token but the one being fed.
        positions = np.asarray([len(t) - 1 for t in self._tokens], dtype=np.int64)[:, None]
        logits, present = self._forward(ids, mask, positions, self._past)
        self._past = present
        self._mask = mask
        result: FloatArray = logits[:, -1]
        return result

    def _step_refeed(self) -> FloatArray:
        width = max(len(t) for t in self._tokens)
        batch = len(self._tokens)
        ids = np.zeros((batch, width), dtype=np.int64)
        mask = np.zeros((batch, width), dtype=np.int64)
        for row, tokens in enumerate(self._tokens):
            ids[row, width - len(tokens) :] = tokens
            mask[row, width - len(tokens) :] = 1
        positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0)
        logits, _ = self._forward(ids, mask, positions, None)
        result: FloatArray = logits[:, -1]
        return result

    def _forward(
        self,
        ids: IntArray,
        mask: IntArray,
        positions: IntArray,
        past: list[FloatArray] | None,
    ) -> tuple[FloatArray, list[FloatArray]]:
        if self.before_forward is not None:
            self.before_forward()
        return self.model.forward(ids, mask, positions, past)

    def _regroup(self) -> None:
        """Rebuild the padded batch after sequences joined or left."""
        kept = [row for row, key in enumerate(self._keys) if key not in self._removed]
        keys = [self._keys[row] for row in kept] + list(self._joining)
        tokens = [self._tokens[row] for row in kept] + [j.tokens for j in self._joining.values()]
        if self.use_cache:
            # Cache lengths: every fed token, all of which are in the cache after prefill/steps.
            pasts = [self._row_past(row) for row in kept]
            pasts += [j.past for j in self._joining.values()]
            self._past, self._mask = _left_pad(pasts, [len(t) for t in tokens], self.model)
        self._keys, self._tokens = keys, tokens
        self._joining.clear()
        self._removed.clear()

    def _row_past(self, row: int) -> list[FloatArray]:
        length = len(self._tokens[row])
        width = self._mask.shape[1]
        return [layer[row : row + 1, :, width - length :, :] for layer in self._past]


def _left_pad(
    pasts: list[list[FloatArray]], lengths: list[int], model: OnnxCausalLM
) -> tuple[list[FloatArray], IntArray]:
    assert model.kv is not None
    batch = len(pasts)
    width = max(lengths, default=0)
    merged = model.kv.empty(batch, width)
    mask = np.zeros((batch, width), dtype=np.int64)
    for row, (past, length) in enumerate(zip(pasts, lengths, strict=True)):
        mask[row, width - length :] = 1
        for layer, part in zip(merged, past, strict=True):
            layer[row, :, width - length :, :] = part[0]
    return merged, mask
