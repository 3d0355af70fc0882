"""One ONNX graph per trained model: the base encoder, pooling, the linear head and softmax.

The head is appended to the base encoder's own graph with the ``onnx`` helper, so the folder
serves like any optimum classification export: inputs ``input_ids``, ``attention_mask`` (and
``token_type_ids`` when the base has it), outputs ``logits`` (what the server's classification
runtime reads) and ``probabilities`` (softmax, for callers of the bare graph, e.g. Triton).

Pooling is done in the graph the way the server pools embeddings (``maaskit.json``'s
``pooling`` and ``normalize`` of the base): mean over real tokens, the first token, or the
maximum; then L2 normalisation. Training reads its features from :func:`features_graph`, the
same graph without the head, so the head is fitted on exactly the numbers it is served with.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from .base import BaseEncoder
from .errors import TrainingError

FEATURES = "maaskit_features"
LOGITS = "logits"
PROBABILITIES = "probabilities"
PRODUCER = "maaskit train"
_PREFIX = "maaskit_head/"


def load_encoder(base: BaseEncoder) -> onnx.ModelProto:
    return onnx.load(str(base.spec.onnx_path))


def features_graph(base: BaseEncoder, model: onnx.ModelProto) -> onnx.ModelProto:
    """The encoder with its output replaced by pooled (and normalised) features."""
    composed = onnx.ModelProto()
    composed.CopyFrom(model)
    graph = composed.graph
    opset = opset_of(model)
    if opset < 13:
        raise TrainingError(f"the base encoder's graph has opset {opset}; 13 or newer is needed")
    nodes, initializers = _pooling_nodes(base, opset)
    graph.node.extend(nodes)
    graph.initializer.extend(initializers)
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info(FEATURES, TensorProto.FLOAT, ["batch_size", base.hidden_size])
    )
    return composed


def classifier_graph(
    features: onnx.ModelProto,
    weights: npt.NDArray[np.float32],
    bias: npt.NDArray[np.float32],
    labels: tuple[str, ...],
) -> onnx.ModelProto:
    """``features`` followed by ``Gemm(features, weights.T) + bias`` and a softmax."""
    classes = len(labels)
    if weights.shape[0] != classes or bias.shape != (classes,):
        raise ValueError(f"head of shape {weights.shape} / {bias.shape} for {classes} labels")
    composed = onnx.ModelProto()
    composed.CopyFrom(features)
    graph = composed.graph
    graph.initializer.extend(
        [
            numpy_helper.from_array(weights.astype(np.float32), _PREFIX + "weight"),
            numpy_helper.from_array(bias.astype(np.float32), _PREFIX + "bias"),
        ]
    )
    graph.node.extend(
        [
            helper.make_node(
                "Gemm",
                [FEATURES, _PREFIX + "weight", _PREFIX + "bias"],
                [LOGITS],
                name=_PREFIX + "linear",
                transB=1,
            ),
            helper.make_node(
                "Softmax", [LOGITS], [PROBABILITIES], name=_PREFIX + "softmax", axis=-1
            ),
        ]
    )
    del graph.output[:]
    for name in (LOGITS, PROBABILITIES):
        graph.output.append(
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch_size", classes])
        )
    composed.producer_name = PRODUCER
    composed.producer_version = ""
    composed.doc_string = f"maaskit train classification: labels {', '.join(labels)}"
    del composed.metadata_props[:]
    composed.metadata_props.extend(
        [onnx.StringStringEntryProto(key="id2label", value=",".join(labels))]
    )
    onnx.checker.check_model(composed)
    return composed


def opset_of(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _reduce(
    op: str, data: str, axes: str, axes_value: int, out: str, *, keepdims: int, opset: int
) -> onnx.NodeProto:
    # ReduceSum takes its axes as an input from opset 13, the other reductions from opset 18.
    if opset >= (13 if op == "ReduceSum" else 18):
        return helper.make_node(op, [data, axes], [out], name=out, keepdims=keepdims)
    return helper.make_node(op, [data], [out], name=out, axes=[axes_value], keepdims=keepdims)


def _pooling_nodes(base: BaseEncoder, opset: int) -> tuple[list[onnx.NodeProto], list[TensorProto]]:
    p = _PREFIX
    constants: dict[str, npt.NDArray[Any]] = {
        p + "axis1": np.array([1], dtype=np.int64),
        p + "axis_last": np.array([-1], dtype=np.int64),
        p + "eps_count": np.array(1e-9, dtype=np.float32),
        p + "eps_norm": np.array(1e-12, dtype=np.float32),
        p + "first": np.array([0], dtype=np.int64),
        p + "ninf": np.array(-np.inf, dtype=np.float32),
    }
    node = helper.make_node
    nodes: list[onnx.NodeProto] = []
    pooled = p + "pooled"
    mode = base.spec.pooling
    if base.pooled:
        nodes.append(node("Identity", [base.output_name], [pooled], name=p + "pooled"))
    elif mode == "cls":
        nodes.append(
            node("Gather", [base.output_name, p + "first"], [p + "cls3"], name=p + "cls", axis=1)
        )
        nodes.append(node("Squeeze", [p + "cls3", p + "axis1"], [pooled], name=p + "squeeze"))
    else:
        nodes += [
            node("Cast", ["attention_mask"], [p + "mask"], name=p + "mask", to=TensorProto.FLOAT),
            node("Unsqueeze", [p + "mask", p + "axis_last"], [p + "mask3"], name=p + "mask3"),
        ]
        if mode == "max":
            nodes += [
                node("Cast", [p + "mask3"], [p + "mask3b"], name=p + "maskb", to=TensorProto.BOOL),
                node(
                    "Where",
                    [p + "mask3b", base.output_name, p + "ninf"],
                    [p + "masked"],
                    name=p + "where",
                ),
                _reduce("ReduceMax", p + "masked", p + "axis1", 1, pooled, keepdims=0, opset=opset),
            ]
        else:
            nodes += [
                node("Mul", [base.output_name, p + "mask3"], [p + "masked"], name=p + "masked"),
                _reduce(
                    "ReduceSum", p + "masked", p + "axis1", 1, p + "sum", keepdims=0, opset=opset
                ),
                _reduce(
                    "ReduceSum", p + "mask3", p + "axis1", 1, p + "count", keepdims=0, opset=opset
                ),
                node("Max", [p + "count", p + "eps_count"], [p + "count_c"], name=p + "count_c"),
                node("Div", [p + "sum", p + "count_c"], [pooled], name=p + "mean"),
            ]
    if base.spec.normalize:
        nodes += [
            _reduce("ReduceL2", pooled, p + "axis_last", -1, p + "norm", keepdims=1, opset=opset),
            node("Max", [p + "norm", p + "eps_norm"], [p + "norm_c"], name=p + "norm_c"),
            node("Div", [pooled, p + "norm_c"], [FEATURES], name=p + "normalize"),
        ]
    else:
        nodes.append(node("Identity", [pooled], [FEATURES], name=p + "features"))
    # Only the constants some node reads (onnxruntime warns about the others).
    used = {name for n in nodes for name in n.input}
    init = [
        numpy_helper.from_array(value, name) for name, value in constants.items() if name in used
    ]
    return nodes, init
