"""Running a graph of the pipeline over texts with onnxruntime, tokenized as the server does.

Texts are tokenized with the model folder's ``tokenizer.json`` through the server's own
:class:`~maaskit_server.tokenization.TextTokenizer`, cut to the model's ``max_input_tokens``
(the server refuses longer inputs unless asked to truncate; training keeps their start) and
padded per batch, in the input order: the same texts always meet the same batches, so the
numbers are repeatable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from ..tokenization import TextTokenizer

FloatArray = npt.NDArray[np.float32]
BATCH_SIZE = 32


class GraphRunner:
    def __init__(self, model: bytes | Path, tokenizer_path: Path, *, max_tokens: int) -> None:
        options = ort.SessionOptions()
        options.inter_op_num_threads = 1
        source = model if isinstance(model, bytes) else str(model)
        self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        self.tokenizer = TextTokenizer(tokenizer_path)
        self.input_names = [node.name for node in self.session.get_inputs()]
        self.max_tokens = max_tokens

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        encoded = self.tokenizer.encode(texts)
        return [
            ids
            if len(ids) <= self.max_tokens
            else self.tokenizer.encode_truncated(text, self.max_tokens)
            for text, ids in zip(texts, encoded, strict=True)
        ]

    def run(
        self,
        texts: Sequence[str],
        output: str,
        *,
        batch_size: int = BATCH_SIZE,
        on_batch: Callable[[int], None] | None = None,
    ) -> FloatArray:
        """``output`` for every text, one row each, in order; ``on_batch(n)`` after each batch."""
        parts: list[FloatArray] = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start : start + batch_size]
            parts.append(self._run_batch(self.token_ids(chunk), output))
            if on_batch is not None:
                on_batch(len(chunk))
        return np.concatenate(parts, axis=0)

    def _run_batch(self, batch: list[list[int]], output: str) -> FloatArray:
        longest = max(len(ids) for ids in batch)
        input_ids = np.full((len(batch), longest), self.tokenizer.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(batch), longest), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        candidates = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": np.zeros_like(input_ids),
        }
        feeds = {name: candidates[name] for name in self.input_names}
        (result,) = self.session.run([output], feeds)
        return np.asarray(result, dtype=np.float32)
