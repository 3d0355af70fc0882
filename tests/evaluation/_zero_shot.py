"""A deliberately weaker sentiment classifier, built in a test's temporary folder.

It is a *zero-shot* classifier, genuinely different from the fine-tuned ``sentiment`` model:
the untouched all-MiniLM-L6-v2 encoder, mean-pooled and L2-normalised, followed by a
similarity to three label prototypes (the mean embedding of a few sentences describing each
label). Nothing is trained, so it is much worse on tweets — which is the point: the
evaluation must rank it below the fine-tuned model. The graph is the encoder's own ONNX with
the pooling and the prototype ``MatMul`` appended with the ``onnx`` helper, so the reference
server serves it as any classification export (output ``logits``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from _support.server import MODELS_DIR
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer

ENCODER = MODELS_DIR / "all-minilm-l6-v2"
LABELS = ("negative", "neutral", "positive")
PROTOTYPES = {
    "negative": ["This is terrible, I hate it.", "A bad, sad and awful experience."],
    "neutral": ["This is a plain statement of fact.", "The meeting is on Tuesday at noon."],
    "positive": ["This is wonderful, I love it.", "A great, happy and excellent experience."],
}
SCALE = 20.0  # cosine similarities span ~0.3; scaled so the softmax is not flat


def _embed(texts: list[str]) -> np.ndarray:
    tokenizer = Tokenizer.from_file(str(ENCODER / "tokenizer.json"))
    tokenizer.enable_padding()
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    session = ort.InferenceSession(str(ENCODER / "model.onnx"), providers=["CPUExecutionProvider"])
    (hidden,) = session.run(
        ["last_hidden_state"],
        {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
    )
    pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    unit: np.ndarray = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return unit


def prototypes() -> np.ndarray:
    """A (384, 3) matrix: one unit column per label."""
    columns = []
    for label in LABELS:
        mean = _embed(PROTOTYPES[label]).mean(0)
        columns.append(mean / np.linalg.norm(mean))
    return np.stack(columns, axis=1).astype(np.float32)


def build(out: Path) -> Path:
    """Write the model folder ``out`` (a classification export) and return it."""
    out.mkdir(parents=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copy(ENCODER / name, out / name)
    model = onnx.load(str(ENCODER / "model.onnx"))
    graph = model.graph
    constants = {
        "zs_axis1": np.array([1], dtype=np.int64),
        "zs_axis_last": np.array([-1], dtype=np.int64),
        "zs_eps": np.array(1e-9, dtype=np.float32),
        "zs_prototypes": prototypes() * np.float32(SCALE),
    }
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in constants.items())
    graph.node.extend(
        [
            helper.make_node("Cast", ["attention_mask"], ["zs_mask"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["zs_mask", "zs_axis_last"], ["zs_mask3"]),
            helper.make_node("Mul", ["last_hidden_state", "zs_mask3"], ["zs_masked"]),
            helper.make_node("ReduceSum", ["zs_masked", "zs_axis1"], ["zs_sum"], keepdims=0),
            helper.make_node("ReduceSum", ["zs_mask3", "zs_axis1"], ["zs_count"], keepdims=0),
            helper.make_node("Max", ["zs_count", "zs_eps"], ["zs_count_safe"]),
            helper.make_node("Div", ["zs_sum", "zs_count_safe"], ["zs_mean"]),
            helper.make_node("ReduceL2", ["zs_mean", "zs_axis_last"], ["zs_norm"], keepdims=1),
            helper.make_node("Max", ["zs_norm", "zs_eps"], ["zs_norm_safe"]),
            helper.make_node("Div", ["zs_mean", "zs_norm_safe"], ["zs_unit"]),
            helper.make_node("MatMul", ["zs_unit", "zs_prototypes"], ["logits"]),
        ]
    )
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", len(LABELS)])
    )
    onnx.save(model, str(out / "model.onnx"))
    config = {
        "architectures": ["ZeroShotPrototypeClassifier"],
        "id2label": {str(i): label for i, label in enumerate(LABELS)},
        "label2id": {label: i for i, label in enumerate(LABELS)},
        "max_position_embeddings": 512,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    options = {"task": "classification", "max_input_tokens": 256, "truncation_default": False}
    (out / "maaskit.json").write_text(json.dumps(options, indent=2), encoding="utf-8")
    return out
