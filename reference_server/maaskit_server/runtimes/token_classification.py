"""Token classification (NER): label probabilities per token, aggregated into entities.

Serves any ``*ForTokenClassification`` export (output ``logits``, shape ``(batch, tokens,
labels)``, labels from ``config.json``'s ``id2label``), such as the project's ``pii-ner``.

A text longer than the model's ``max_input_tokens`` is not refused: it is read in overlapping
windows (the pipeline's ``stride``), each token keeping the probabilities of the window in which
it sits farthest from an edge, so every token is judged with context on both sides. A masker in
front of a chat model needs the whole message read, not a 400 on a long one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..model_spec import ModelSpec
from . import RuntimeContext
from ._encoder import EncoderRuntime, FloatArray
from ._entities import STRATEGIES, TokenProbabilities, entities
from .classification import softmax

__all__ = ["STRATEGIES", "Recognised", "TokenClassificationRuntime"]

STRIDE = 32  # tokens of overlap between windows of a long text


@dataclass(frozen=True)
class Recognised:
    entities: list[list[dict[str, Any]]]
    prompt_tokens: int


@dataclass(frozen=True)
class _Window:
    text: int  # index of the text
    first: int  # index of the window's first content token in that text
    ids: list[int]  # with special tokens


class TokenClassificationRuntime(EncoderRuntime):
    task = "token-classification"

    def __init__(self, spec: ModelSpec, context: RuntimeContext) -> None:
        super().__init__(spec, context)
        names = self._output_names
        self._logits_output = "logits" if "logits" in names else names[0]
        shape = next(o.shape for o in self.session.get_outputs() if o.name == self._logits_output)
        num_labels = shape[-1] if shape and isinstance(shape[-1], int) else len(spec.labels)
        if spec.labels and num_labels != len(spec.labels):
            raise ValueError(f"model has {num_labels} labels in its graph but {len(spec.labels)}")
        self.labels: tuple[str, ...] = spec.labels or tuple(f"LABEL_{i}" for i in range(num_labels))
        self._prefix, self._suffix = self.tokenizer.special_ids()
        self._content_limit = max(8, spec.max_input_tokens - len(self._prefix) - len(self._suffix))

    async def recognise(
        self,
        texts: Sequence[str],
        *,
        strategy: str = "simple",
        ignore_labels: Sequence[str] = ("O",),
        stride: int = STRIDE,
    ) -> Recognised:
        """The entities of each text (see :mod:`._entities` for the strategies)."""
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown aggregation strategy {strategy!r}")
        loop = asyncio.get_running_loop()
        encoded = await loop.run_in_executor(self._executor, self.tokenizer.encode_content, texts)
        windows = [
            window
            for index, (ids, _, _) in enumerate(encoded)
            for window in self._windows(index, ids, stride)
        ]
        rows = await self.infer([window.ids for window in windows]) if windows else []
        per_text = self._merge(encoded, windows, rows)
        found = [
            entities(
                text,
                TokenProbabilities(offsets, word_ids, probabilities),
                self.labels,
                strategy=strategy,
                ignore_labels=ignore_labels,
            )
            for text, (_, offsets, word_ids), probabilities in zip(
                texts, encoded, per_text, strict=True
            )
        ]
        return Recognised(found, sum(len(window.ids) for window in windows))

    def _windows(self, index: int, ids: list[int], stride: int) -> list[_Window]:
        limit = self._content_limit
        if not ids:
            return []
        step = max(1, limit - min(stride, limit // 2))
        windows = []
        first = 0
        while True:
            windows.append(
                _Window(index, first, [*self._prefix, *ids[first : first + limit], *self._suffix])
            )
            if first + limit >= len(ids):
                return windows
            first += step

    def _merge(
        self,
        encoded: Sequence[tuple[list[int], list[tuple[int, int]], list[int | None]]],
        windows: Sequence[_Window],
        rows: Sequence[FloatArray],
    ) -> list[npt.NDArray[np.float32]]:
        merged = [np.zeros((len(ids), len(self.labels)), np.float32) for ids, _, _ in encoded]
        margin = [np.full(len(ids), -1, np.int64) for ids, _, _ in encoded]
        skip = len(self._prefix)
        for window, row in zip(windows, rows, strict=True):
            content = row[skip : skip + len(window.ids) - skip - len(self._suffix)]
            for offset in range(len(content)):
                position = window.first + offset
                distance = min(offset, len(content) - 1 - offset)
                if distance > margin[window.text][position]:
                    margin[window.text][position] = distance
                    merged[window.text][position] = content[offset]
        return merged

    async def warmup(self) -> None:
        await self.recognise(["Warming up, Ada Lovelace in London."])

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "labels": list(self.labels)}

    def postprocess(
        self, outputs: dict[str, npt.NDArray[Any]], attention_mask: npt.NDArray[np.int64]
    ) -> list[FloatArray]:
        probabilities = softmax(outputs[self._logits_output])
        lengths = attention_mask.sum(axis=1)
        return [probabilities[row, : int(length)] for row, length in enumerate(lengths)]
