"""The graphs-only export for Triton's ``onnxruntime_onnx`` backend (``--backend onnxruntime``).

``OUT/{model}/config.pbtxt`` + ``OUT/{model}/1/model.onnx``, with the tokenizer and config
files copied next to ``config.pbtxt`` for reference. The config names the ONNX graph's real
tensors (read from the graph with onnxruntime), so Triton's ``onnxruntime_onnx`` backend
serves the graph as is:

* encoder models (embeddings, classification) take token ids (``input_ids``,
  ``attention_mask``, ``token_type_ids`` INT64 ``[batch, tokens]``) and answer
  ``last_hidden_state`` or ``logits`` FP32. ``max_batch_size`` and ``dynamic_batching``
  come from ``maaskit.json``'s ``batching``. Tokenization (and pooling / softmax) happens in
  the client or in a Triton ensemble in front of the model; classification labels go to
  ``labels.txt`` (``label_filename``, Triton's classification extension).
* text-generation models are exported with their KV-cache tensors (``past_key_values.*`` in,
  ``present.*`` out) and ``max_batch_size: 0`` (full shapes, no dynamic batching: requests
  with different cache lengths cannot share a batch). The decoding loop (sampling, feeding
  the cache back) runs in the client or a BLS model; for served generation use Triton's
  vLLM or TensorRT-LLM backends instead.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ..model_spec import ModelSpec
from ._config import (
    Exported,
    ExportError,
    TensorSpec,
    dynamic_batching,
    instance_group,
    parameter,
)

VERSION = "1"
REFERENCE_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "config.json",
    "generation_config.json",
    "maaskit.json",
)
# onnxruntime's element types → Triton's model-config data types.
_DATA_TYPES = {
    "tensor(bool)": "TYPE_BOOL",
    "tensor(uint8)": "TYPE_UINT8",
    "tensor(uint16)": "TYPE_UINT16",
    "tensor(uint32)": "TYPE_UINT32",
    "tensor(uint64)": "TYPE_UINT64",
    "tensor(int8)": "TYPE_INT8",
    "tensor(int16)": "TYPE_INT16",
    "tensor(int32)": "TYPE_INT32",
    "tensor(int64)": "TYPE_INT64",
    "tensor(float16)": "TYPE_FP16",
    "tensor(float)": "TYPE_FP32",
    "tensor(double)": "TYPE_FP64",
    "tensor(string)": "TYPE_STRING",
}


def export_onnx_model(spec: ModelSpec, out: Path) -> Exported:
    inputs, outputs = graph_tensors(spec.onnx_path)
    batched = spec.task != "text-generation"
    if batched:
        inputs = [_without_batch(tensor) for tensor in inputs]
        outputs = [_without_batch(tensor) for tensor in outputs]
    target = out / spec.name
    (target / VERSION).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(spec.onnx_path, target / VERSION / "model.onnx")
    for external in spec.path.glob("model.onnx?*"):
        # Weights stored outside the graph (``model.onnx_data``) must sit next to it.
        shutil.copyfile(external, target / VERSION / external.name)
    for name in REFERENCE_FILES:
        if (spec.path / name).is_file():
            shutil.copyfile(spec.path / name, target / name)
    label_output = None
    if spec.task == "classification" and spec.labels:
        (target / "labels.txt").write_text("\n".join(spec.labels) + "\n", encoding="utf-8")
        label_output = "logits" if any(t.name == "logits" for t in outputs) else outputs[0].name
    config = model_config(spec, inputs, outputs, batched=batched, label_output=label_output)
    (target / "config.pbtxt").write_text(config, encoding="utf-8")
    return Exported(spec.name, spec.task, target)


def graph_tensors(onnx_path: Path) -> tuple[list[TensorSpec], list[TensorSpec]]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    # No graph optimisation: only the declared inputs and outputs are read.
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(
        str(onnx_path), options, providers=["CPUExecutionProvider"]
    )

    def describe(node: Any) -> TensorSpec:
        if node.type not in _DATA_TYPES:
            raise ExportError(f"{onnx_path}: tensor {node.name} has unsupported type {node.type}")
        dims = [d if isinstance(d, int) and d >= 0 else -1 for d in node.shape]
        return TensorSpec(node.name, _DATA_TYPES[node.type], dims)

    return [describe(n) for n in session.get_inputs()], [describe(n) for n in session.get_outputs()]


def _without_batch(tensor: TensorSpec) -> TensorSpec:
    # With max_batch_size > 0, Triton's dims leave out the leading batch dimension.
    return TensorSpec(tensor.name, tensor.data_type, tensor.dims[1:])


def model_config(
    spec: ModelSpec,
    inputs: list[TensorSpec],
    outputs: list[TensorSpec],
    *,
    batched: bool,
    label_output: str | None = None,
) -> str:
    """The ``config.pbtxt`` text (protobuf text format of Triton's ``ModelConfig``)."""
    max_batch = spec.batching.max_batch_size if batched else 0
    lines = [
        f"name: {json.dumps(spec.name)}",
        'platform: "onnxruntime_onnx"',
        'backend: "onnxruntime"',
        f"max_batch_size: {max_batch}",
        "input [",
        ",\n".join(_tensor_text(t) for t in inputs),
        "]",
        "output [",
        ",\n".join(_tensor_text(t, label_output) for t in outputs),
        "]",
    ]
    if batched:
        lines += dynamic_batching(spec)
    lines += [instance_group(spec), parameter("maaskit_task", spec.task)]
    return "\n".join(lines) + "\n"


def _tensor_text(tensor: TensorSpec, label_output: str | None = None) -> str:
    dims = ", ".join(str(d) for d in tensor.dims)
    label = ' label_filename: "labels.txt"' if tensor.name == label_output else ""
    return (
        f"  {{ name: {json.dumps(tensor.name)} data_type: {tensor.data_type}"
        f" dims: [ {dims} ]{label} }}"
    )
