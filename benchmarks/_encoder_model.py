"""A plain onnxruntime + tokenizers encoder, written the way a user would without maaskit.

It is both the ceiling (called in-process at its best batch size) and the engine of the naive
server. It deliberately shares no code with maaskit_server, so the comparison is honest.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer


class PlainEncoder:
    def __init__(self, folder: Path, *, threads: int = 0, max_tokens: int = 256) -> None:
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = {node.name for node in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        self.tokenizer.enable_padding()
        self.task = json.loads((folder / "maaskit.json").read_text())["task"]

    def run(self, texts: list[str]) -> npt.NDArray[np.float32]:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        output: npt.NDArray[np.float32] = self.session.run(None, feeds)[0]
        if self.task == "classification":
            shifted = np.exp(output - output.max(axis=1, keepdims=True))
            probabilities: npt.NDArray[np.float32] = shifted / shifted.sum(axis=1, keepdims=True)
            return probabilities.astype(np.float32)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (output * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        normalised: npt.NDArray[np.float32] = pooled / np.clip(norms, 1e-12, None)
        return normalised.astype(np.float32)
