"""The default encoders' storage format: fp16-stored weights, fp32 compute.

Every large float weight is stored as fp16 behind a ``Cast`` to fp32; onnxruntime's constant
folding (any graph optimisation level above ``ORT_DISABLE_ALL``) replaces each ``Cast`` by its
fp32 result when the session loads, so inference runs the fp32 graph: the speed of the fp32
export (MLAS fp32 GEMMs) at half its size, and a text's vector does not depend on the other
texts in its batch. Measured on the 2-core build machine against the int8 ``MatMulNBits``
format used before (accuracy level 4, which also quantizes activations): about 2x the sentences
per second, cosine to sentence-transformers 0.99999 instead of 0.9987.

The word-embedding table (30,522 x 384 of the 22.7M parameters) stays int8, one scale per row
(``Gather`` of the int8 rows and of their scales, ``Cast``, ``Mul``): a lookup, not a GEMM, so
no speed is lost, and it keeps the two encoders inside the model-size budget (fp16 there too
would make each 45 MB instead of 34 MB).

Other formats measured against it (2026-12-02, Sapphire Rapids core, MiniLM, one thread,
sentences per CPU-second at batch 1 / 8 / 64, old int8 file = 1): this format 1.03 / 1.14 /
1.20; onnxruntime's transformer optimizer on top (fused ``Attention``, ``SkipLayerNormalization``,
``BiasGelu``; load-time optimisation fuses only ``BiasGelu`` here) 0.99 / 1.02 / 1.05, exact
but slower than this format; 8-bit ``MatMulNBits`` block 32 at accuracy level 4 0.96 / 0.95 /
0.94, short-input cosine 0.9977 (fails). MatMul is 71 % of kernel time and runs near the
core's fp32 AVX-512 peak; only ``DynamicQuantizeMatMul`` (per-tensor int8 activations,
VNNI/AMX) is faster (2.3 / 3.2 / 2.8) and it breaks both bars (cosine 0.78, batched vs alone
0.05), so no exact format here reaches the issue's 1.8x.

Only onnx and numpy are used: the same steps convert an fp32 export (:func:`convert_fp32`) and
an already-shipped int8 ``MatMulNBits`` model whose fp32 weights no longer exist
(:func:`dequantize_matmul_nbits`, used for the fine-tuned sentiment model).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

#: Float initializers with fewer elements than this stay fp32 (LayerNorm weights, biases of
#: the classifier head...): they weigh nothing and need no Cast.
MIN_FP16_ELEMENTS = 1024
#: Suffix of the fp16 initializer behind each ``Cast`` (the Cast's output keeps the old name).
FP16_SUFFIX = "_fp16"


def _onnx() -> Any:
    import onnx

    return onnx


def _consumers(model: Any, name: str) -> list[Any]:
    return [n for n in model.graph.node if name in n.input]


def store_fp16(model: Any, *, min_elements: int = MIN_FP16_ELEMENTS) -> int:
    """Store each fp32 initializer of ``min_elements`` or more as fp16 behind a ``Cast``.

    The ``Cast`` nodes are put first in the graph and output the initializer's old name, so
    no consumer changes. Returns the number of initializers converted.
    """
    onnx = _onnx()
    from onnx import numpy_helper

    graph = model.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(init)
        if values.size < min_elements:
            continue
        if float(np.abs(values).max()) >= float(np.finfo(np.float16).max):
            raise ValueError(f"initializer {init.name} does not fit fp16")
        name = init.name
        init.CopyFrom(numpy_helper.from_array(values.astype(np.float16), name + FP16_SUFFIX))
        casts.append(
            onnx.helper.make_node(
                "Cast",
                [name + FP16_SUFFIX],
                [name],
                name=name + "/cast_fp32",
                to=onnx.TensorProto.FLOAT,
            )
        )
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return len(casts)


def int8_rows(table: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.int8], npt.NDArray[Any]]:
    """Symmetric int8 quantization with one fp32 scale per row: ``q * scale ~ table``."""
    peak = np.abs(table).max(axis=1)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(table / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def quantize_gather_rows(model: Any, table_name: str) -> None:
    """Replace the fp32 table ``table_name`` read by ``Gather`` with int8 rows + row scales.

    ``Gather(table, ids)`` becomes ``Gather(q, ids) -> Cast -> Mul(Unsqueeze(Gather(scale,
    ids), -1))``: the rows a batch reads are dequantized, the table stays int8.
    """
    onnx = _onnx()
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    table = numpy_helper.to_array(inits[table_name]).astype(np.float32)
    q, scale = int8_rows(table)
    graph.initializer.remove(inits[table_name])
    graph.initializer.extend(
        [
            numpy_helper.from_array(q, table_name + "_int8"),
            numpy_helper.from_array(scale, table_name + "_row_scale"),
            numpy_helper.from_array(np.asarray([-1], dtype=np.int64), table_name + "_last_axis"),
        ]
    )
    gathers = [n for n in _consumers(model, table_name) if n.op_type == "Gather"]
    if len(gathers) != len(_consumers(model, table_name)) or not gathers:
        raise ValueError(f"{table_name} is not read by Gather alone")
    for index, gather in enumerate(gathers):
        ids, out = gather.input[1], gather.output[0]
        p = f"{table_name}/rows{index}"
        new = [
            helper.make_node("Gather", [table_name + "_int8", ids], [p + "/q"], name=p + "/gq"),
            helper.make_node(
                "Cast", [p + "/q"], [p + "/qf"], name=p + "/cast", to=onnx.TensorProto.FLOAT
            ),
            helper.make_node(
                "Gather", [table_name + "_row_scale", ids], [p + "/s"], name=p + "/gs"
            ),
            helper.make_node(
                "Unsqueeze", [p + "/s", table_name + "_last_axis"], [p + "/s1"], name=p + "/us"
            ),
            helper.make_node("Mul", [p + "/qf", p + "/s1"], [out], name=p + "/mul"),
        ]
        position = list(graph.node).index(gather)
        graph.node.remove(gather)
        for offset, node in enumerate(new):
            graph.node.insert(position + offset, node)


def _attr(node: Any, name: str, default: int | None = None) -> int:
    for a in node.attribute:
        if a.name == name:
            return int(a.i)
    if default is None:
        raise ValueError(f"{node.name}: no attribute {name}")
    return default


def matmul_nbits_weight(node: Any, inits: dict[str, Any]) -> npt.NDArray[np.float32]:
    """The ``[K, N]`` fp32 weight a com.microsoft ``MatMulNBits`` node stores (8-bit only)."""
    from onnx import numpy_helper

    k, n = _attr(node, "K"), _attr(node, "N")
    bits, block = _attr(node, "bits"), _attr(node, "block_size")
    if bits != 8:
        raise ValueError(f"{node.name}: only 8-bit MatMulNBits is supported, not {bits}")
    packed = numpy_helper.to_array(inits[node.input[1]])  # [N, blocks, block] uint8
    blocks = packed.shape[1]
    scales = numpy_helper.to_array(inits[node.input[2]]).astype(np.float32).reshape(n, blocks)
    zero: npt.NDArray[Any] = np.full((n, blocks), 128.0, dtype=np.float32)
    if len(node.input) > 3 and node.input[3]:
        zero = numpy_helper.to_array(inits[node.input[3]]).astype(np.float32).reshape(n, blocks)
    if len(node.input) > 4 and node.input[4]:
        raise ValueError(f"{node.name}: g_idx is not supported")
    q = packed.reshape(n, blocks, block).astype(np.float32)
    w = ((q - zero[:, :, None]) * scales[:, :, None]).reshape(n, blocks * block)[:, :k]
    return np.ascontiguousarray(w.T, dtype=np.float32)


def dequantize_matmul_nbits(model: Any) -> int:
    """Replace every 8-bit ``MatMulNBits`` by a plain ``MatMul`` on its dequantized weight.

    The weights become fp32 initializers (exactly ``(q - zero) * scale``); :func:`store_fp16`
    then stores them as fp16. Returns the number of nodes replaced.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    replaced = 0
    for node in list(graph.node):
        if node.op_type != "MatMulNBits":
            continue
        weight = matmul_nbits_weight(node, inits)
        w_name = node.input[1].removesuffix("_Q8") + "_weight"
        graph.initializer.append(numpy_helper.from_array(weight, w_name))
        position = list(graph.node).index(node)
        out = node.output[0]
        bias = node.input[5] if len(node.input) > 5 else ""
        new = [helper.make_node("MatMul", [node.input[0], w_name], [out], name=node.name)]
        if bias:
            new[0].output[0] = out + "/no_bias"
            new.append(helper.make_node("Add", [out + "/no_bias", bias], [out], name=out + "/b"))
        graph.node.remove(node)
        for offset, n in enumerate(new):
            graph.node.insert(position + offset, n)
        replaced += 1
    used = {i for n in graph.node for i in n.input}
    for init in list(graph.initializer):
        if init.name not in used:
            graph.initializer.remove(init)
    if not any(n.domain == "com.microsoft" for n in graph.node):
        for opset in list(model.opset_import):
            if opset.domain == "com.microsoft":
                model.opset_import.remove(opset)
    return replaced


def word_embedding_table(model: Any) -> str:
    """Name of the fp32 word-embedding table (the initializer read by ``Gather(., input_ids)``)."""
    inits = {i.name for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Gather" and node.input[1] == "input_ids" and node.input[0] in inits:
            return str(node.input[0])
    raise ValueError("no Gather of input_ids on an initializer")


def convert_fp32(model: Any) -> Any:
    """fp32 export -> this format: int8-row word embeddings, every other large weight fp16."""
    quantize_gather_rows(model, word_embedding_table(model))
    store_fp16(model)
    return model
