"""The running batch of a continuous-batching engine: one onnxruntime call per decode step.

Sequences of different lengths share a step by left-padding their KV caches to a common length;
the attention mask hides the padding and ``position_ids`` carry each sequence's true position,
so a sequence's logits do not depend on what else is in the batch. New sequences are prefilled
on their own and merged at the next step; finished ones are dropped at the next step.

Models without a past (or ``use_cache=False``) re-feed every sequence's full token list,
left-padded the same way.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
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
    def __init__(self, model: OnnxCausalLM, use_cache: bool = True) -> None:
        self.model = model
        self.use_cache = use_cache and model.kv is not None
        self._keys: list[Key] = []
        self._tokens: list[list[int]] = []  # every token fed so far, per row
        self._past: list[FloatArray] = []  # each [B, heads, L, head_dim], left-padded
        self._mask: IntArray = np.zeros((0, 0), dtype=np.int64)
        self._joining: dict[Key, _Joining] = {}
        self._removed: set[Key] = set()

    @property
    def size(self) -> int:
        return len(self._keys) - len(self._removed) + len(self._joining)

    def prefill(self, key: Key, prompt_ids: Sequence[int]) -> FloatArray:
        """Run the prompt alone; returns the next-token logits ``[V]``. Joins at the next step."""
        if key in self._joining or key in self._keys:
            raise ValueError(f"sequence {key!r} is already in the batch")
        length = len(prompt_ids)
        ids = np.asarray([prompt_ids], dtype=np.int64)
        mask = np.ones((1, length), dtype=np.int64)
        positions = np.arange(length, dtype=np.int64)[None, :]
        logits, present = self.model.forward(ids, mask, positions, None)
        self._joining[key] = _Joining(list(prompt_ids), present if self.use_cache else [])
        result: FloatArray = logits[0, -1]
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
        if self._joining or self._removed:
            self._regroup()
        if set(next_tokens) != set(self._keys):
            raise ValueError("step() needs exactly one next token for every sequence in the batch")
        if not self._keys:
            return {}
        fed = [next_tokens[key] for key in self._keys]
        for tokens, token in zip(self._tokens, fed, strict=True):
            tokens.append(token)
        logits = self._step_cached(fed) if self.use_cache else self._step_refeed()
        return {key: logits[row] for row, key in enumerate(self._keys)}

    def _step_cached(self, fed: list[int]) -> FloatArray:
        batch = len(fed)
        ids = np.asarray(fed, dtype=np.int64)[:, None]
        mask = np.concatenate([self._mask, np.ones((batch, 1), dtype=np.int64)], axis=1)
        # The cache holds every token but the one being fed.
        positions = np.asarray([len(t) - 1 for t in self._tokens], dtype=np.int64)[:, None]
        logits, present = self.model.forward(ids, mask, positions, self._past)
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
        logits, _ = self.model.forward(ids, mask, positions, None)
        result: FloatArray = logits[:, -1]
        return result

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
