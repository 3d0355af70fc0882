"""An onnxruntime session over a decoder-only causal LM in optimum's layout.

Knows the graph's inputs (``input_ids``, ``attention_mask``, ``position_ids``,
``past_key_values.{i}.key/value``) and outputs (``logits``, ``present.{i}.key/value``); the
batching of sequences is :mod:`maaskit_server.generation.kv_batch`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

_PAST_INPUT = re.compile(r"^past_key_values\.(\d+)\.(key|value)$")
_ONNX_FLOAT_TYPES: dict[str, type[np.floating]] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
}

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.floating]


@dataclass(frozen=True)
class KVLayout:
    num_layers: int
    num_heads: int
    head_dim: int
    dtype: type[np.floating]
    # Input and output names in (layer 0 key, layer 0 value, layer 1 key, ...) order.
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]

    def empty(self, batch: int, length: int = 0) -> list[FloatArray]:
        shape = (batch, self.num_heads, length, self.head_dim)
        return [np.zeros(shape, dtype=self.dtype) for _ in self.input_names]


class OnnxCausalLM:
    """One onnxruntime session. ``kv`` is ``None`` for models exported without a past."""

    def __init__(self, model_path: Path, intra_op_threads: int = 1) -> None:
        options = ort.SessionOptions()
        # For models this small one intra-op thread is as fast as two, and it leaves the other
        # core to the event loop and the other runtimes.
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        inputs = {i.name: i for i in self.session.get_inputs()}
        if "input_ids" not in inputs:
            raise ValueError(f"{model_path}: the graph has no input_ids input")
        outputs = [o.name for o in self.session.get_outputs()]
        if "logits" not in outputs:
            raise ValueError(f"{model_path}: the graph has no logits output")
        self.has_attention_mask = "attention_mask" in inputs
        self.has_position_ids = "position_ids" in inputs
        self.has_cache_branch_flag = "use_cache_branch" in inputs
        self.kv = _kv_layout(inputs, outputs, model_path)
        self.vocab_size = _last_dim(self.session.get_outputs()[outputs.index("logits")].shape)

    def forward(
        self,
        input_ids: IntArray,
        attention_mask: IntArray,
        position_ids: IntArray,
        past: list[FloatArray] | None,
    ) -> tuple[FloatArray, list[FloatArray]]:
        """Run the graph. Returns logits ``[B, T, V]`` and the present KV (empty without a past)."""
        feed: dict[str, npt.NDArray[np.generic]] = {"input_ids": input_ids}
        if self.has_attention_mask:
            feed["attention_mask"] = attention_mask
        if self.has_position_ids:
            feed["position_ids"] = position_ids
        kv = self.kv
        if kv is not None:
            if past is None:
                past = kv.empty(input_ids.shape[0])
            feed.update(zip(kv.input_names, past, strict=True))
            if self.has_cache_branch_flag:
                # Older merged exports pick the with-past branch explicitly.
                feed["use_cache_branch"] = np.array([past[0].shape[2] > 0], dtype=np.bool_)
            names = ["logits", *kv.output_names]
        else:
            names = ["logits"]
        results = self.session.run(names, feed)
        logits: FloatArray = results[0]
        return logits, list(results[1:])


def _kv_layout(
    inputs: dict[str, ort.NodeArg], outputs: list[str], model_path: Path
) -> KVLayout | None:
    layers: dict[int, dict[str, ort.NodeArg]] = {}
    for name, arg in inputs.items():
        match = _PAST_INPUT.match(name)
        if match:
            layers.setdefault(int(match.group(1)), {})[match.group(2)] = arg
    if not layers:
        return None
    count = len(layers)
    if sorted(layers) != list(range(count)) or any(len(kv) != 2 for kv in layers.values()):
        raise ValueError(f"{model_path}: incomplete past_key_values inputs")
    input_names: list[str] = []
    output_names: list[str] = []
    for layer in range(count):
        for part in ("key", "value"):
            input_names.append(f"past_key_values.{layer}.{part}")
            present = f"present.{layer}.{part}"
            if present not in outputs:
                raise ValueError(f"{model_path}: missing output {present}")
            output_names.append(present)
    first = layers[0]["key"]
    shape = first.shape
    if len(shape) != 4 or not isinstance(shape[1], int) or not isinstance(shape[3], int):
        raise ValueError(f"{model_path}: expected past keys shaped [batch, heads, length, dim]")
    dtype = _ONNX_FLOAT_TYPES.get(first.type)
    if dtype is None:
        raise ValueError(f"{model_path}: unsupported past_key_values type {first.type}")
    return KVLayout(
        num_layers=count,
        num_heads=shape[1],
        head_dim=shape[3],
        dtype=dtype,
        input_names=tuple(input_names),
        output_names=tuple(output_names),
    )


def _last_dim(shape: list[int | str | None]) -> int | None:
    last = shape[-1] if shape else None
    return last if isinstance(last, int) else None
