"""Embeddings: pooled (mean, CLS or max over real tokens) and optionally L2-normalised."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..model_spec import ModelSpec
from ..tokenization import TextInputs
from . import RuntimeContext
from ._encoder import EncoderRuntime, FloatArray


@dataclass(frozen=True)
class Embedded:
    vectors: list[FloatArray]
    prompt_tokens: int


class EmbeddingRuntime(EncoderRuntime):
    task = "embeddings"

    def __init__(self, spec: ModelSpec, context: RuntimeContext) -> None:
        super().__init__(spec, context)
        names = self._output_names
        self._pooled_output = "sentence_embedding" if "sentence_embedding" in names else None
        self._hidden_output = "last_hidden_state" if "last_hidden_state" in names else names[0]
        self.dimensions = self._find_dimensions()

    def _find_dimensions(self) -> int:
        wanted = self._pooled_output or self._hidden_output
        shape = next(o.shape for o in self.session.get_outputs() if o.name == wanted)
        if shape and isinstance(shape[-1], int):
            return int(shape[-1])
        hidden = self.spec.config.get("hidden_size")
        if isinstance(hidden, int):
            return hidden
        raise ValueError("cannot tell the embedding size from model.onnx or config.json")

    async def embed(self, inputs: TextInputs, *, truncate_to: int | None) -> Embedded:
        vectors, tokens = await self.encode(inputs, truncate_to=truncate_to)
        return Embedded(vectors, tokens)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "dimensions": self.dimensions,
            "pooling": self.spec.pooling,
            "normalize": self.spec.normalize,
        }

    def postprocess(
        self, outputs: dict[str, npt.NDArray[Any]], attention_mask: npt.NDArray[np.int64]
    ) -> list[FloatArray]:
        if self._pooled_output is not None:
            pooled = outputs[self._pooled_output].astype(np.float32)
        else:
            pooled = pool(outputs[self._hidden_output], attention_mask, self.spec.pooling)
        if self.spec.normalize:
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            pooled = pooled / np.maximum(norms, 1e-12)
        return [row.astype(np.float32) for row in pooled]


def pool(hidden: npt.NDArray[Any], attention_mask: npt.NDArray[np.int64], mode: str) -> FloatArray:
    """Pool token states to one vector per row, ignoring padding."""
    hidden = hidden.astype(np.float32)
    pooled: FloatArray
    if mode == "cls":
        pooled = hidden[:, 0, :]
        return pooled
    mask = attention_mask[:, :, None].astype(np.float32)
    if mode == "max":
        pooled = np.where(mask > 0, hidden, -np.inf).max(axis=1).astype(np.float32)
        return pooled
    summed = (hidden * mask).sum(axis=1)
    pooled = (summed / np.maximum(mask.sum(axis=1), 1e-9)).astype(np.float32)
    return pooled
