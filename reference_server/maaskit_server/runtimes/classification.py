"""Text classification: softmax over ``logits``, every label's probability returned."""

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
class Classified:
    probabilities: list[FloatArray]
    prompt_tokens: int


class ClassificationRuntime(EncoderRuntime):
    task = "classification"

    def __init__(self, spec: ModelSpec, context: RuntimeContext) -> None:
        super().__init__(spec, context)
        names = self._output_names
        self._logits_output = "logits" if "logits" in names else names[0]
        shape = next(o.shape for o in self.session.get_outputs() if o.name == self._logits_output)
        num_classes = shape[-1] if shape and isinstance(shape[-1], int) else len(spec.labels)
        if spec.labels and num_classes != len(spec.labels):
            raise ValueError(f"model has {num_classes} classes but {len(spec.labels)} labels")
        self.labels: tuple[str, ...] = spec.labels or tuple(
            f"LABEL_{i}" for i in range(num_classes)
        )

    async def classify(self, inputs: TextInputs, *, truncate_to: int | None) -> Classified:
        probabilities, tokens = await self.encode(inputs, truncate_to=truncate_to)
        return Classified(probabilities, tokens)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "labels": list(self.labels)}

    def postprocess(
        self, outputs: dict[str, npt.NDArray[Any]], attention_mask: npt.NDArray[np.int64]
    ) -> list[FloatArray]:
        return [row for row in softmax(outputs[self._logits_output])]


def softmax(logits: npt.NDArray[Any]) -> FloatArray:
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    probabilities: FloatArray = (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)
    return probabilities
