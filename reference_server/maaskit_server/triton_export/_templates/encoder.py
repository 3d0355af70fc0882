"""A Triton Python-backend model that serves a maaskit encoder folder: text in, answers out.

Written by ``maaskit models export-triton OUT --backend python`` as ``OUT/{model}/1/model.py``
next to the model's ``model.onnx`` and ``tokenizer.json``. It does what the maaskit reference
server does for the same folder, so Triton answers like the server's KServe v2 routes:

* input ``text`` BYTES ``[n, 1]`` (UTF-8 texts);
* embeddings: ``embedding`` FP32 ``[n, d]``, pooled over real tokens (mean, CLS or max) and
  L2-normalised when the folder says so;
* classification: ``probabilities`` FP32 ``[n, k]`` (softmax), ``label`` BYTES ``[n, 1]`` (the
  top label) and ``labels`` BYTES ``[n, k]`` (the class names in index order; every output of a
  batching Triton model has the batch dimension, so each row repeats them).

Request parameters ``truncate`` (true: keep the model's limit) and ``truncate_prompt_tokens``
(a number, or -1 for the model's limit) cut over-long texts; without them a text over
``max_input_tokens`` is a 400, as on the reference server. Triton's dynamic batcher hands
``execute`` several requests at once: their texts are tokenized together and run as one
onnxruntime call, then split back per request. A bad request gets its own 400 and never fails
the others of its batch.

The same file also serves the two Python steps of the ensemble export (``--backend ensemble``),
chosen by the ``maaskit_stage`` parameter: ``tokenize`` (text in; the graph's token-id inputs
and ``attention_mask`` out, padded per request) and ``postprocess`` (the graph's output and
``attention_mask`` in; the answers above out), with Triton's ``onnxruntime_onnx`` backend
running the graph between them. ``all`` (the default) does the three in one model.

Self-contained on purpose: it needs numpy, onnxruntime and tokenizers in the Python that runs
Triton's stub (``pip install numpy onnxruntime tokenizers``, or a packed ``EXECUTION_ENV_PATH``),
and nothing of maaskit, so the exported repository runs on any Triton with the Python backend.
Its settings are the ``maaskit_*`` parameters of ``config.pbtxt``. It keeps to Python 3.8's
syntax and library, the oldest Python a Triton stub is built for.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]
from tokenizers import Encoding, Tokenizer

FloatArray = npt.NDArray[np.float32]
_KNOWN_INPUTS = {"input_ids", "attention_mask", "token_type_ids", "position_ids"}
_INT_TYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}


class BadInput(Exception):
    """A request Triton should answer with 400 (INVALID_ARG); the message says why."""


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        parameters = {
            key: value["string_value"] for key, value in config.get("parameters", {}).items()
        }
        self.stage = parameters.get("maaskit_stage", "all")
        self.task = parameters["maaskit_task"]
        self.max_input_tokens = int(parameters["maaskit_max_input_tokens"])
        self.truncation_default = parameters.get("maaskit_truncation_default") == "true"
        self.pooling = parameters.get("maaskit_pooling", "mean")
        self.normalize = parameters.get("maaskit_normalize", "true") == "true"
        self.labels: list[str] = json.loads(parameters.get("maaskit_labels", "[]"))
        self.main_output = parameters.get("maaskit_graph_output", "")
        folder = os.path.join(args["model_repository"], args["model_version"])
        if self.stage in ("all", "tokenize"):
            self.tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
            # One tokenizer for every call, never mutated: limits are applied per input below.
            self.tokenizer.no_padding()
            self.tokenizer.no_truncation()
            self.special_tokens = self.tokenizer.num_special_tokens_to_add(is_pair=False)
            self.pad_id = _pad_id(self.tokenizer)
        if self.stage == "tokenize":
            # The token tensors the graph takes, typed as the ensemble's config declares them.
            self.input_types = {
                output["name"]: pb_utils.triton_string_to_numpy(output["data_type"])
                for output in config["output"]
            }
        if self.stage == "all":
            self._load_session(os.path.join(folder, "model.onnx"), parameters)

    def _load_session(self, path: str, parameters: dict[str, str]) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(parameters.get("maaskit_intra_op_threads", "0"))
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # As in the reference server: spin inside a call, stop spinning once it returns (an
        # idle spinning pool burns a core per instance on a shared CPU).
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        options.add_session_config_entry("session.force_spinning_stop", "1")
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input_types = {}
        for node in self.session.get_inputs():
            if node.name not in _KNOWN_INPUTS:
                raise ValueError(f"model.onnx has an input this model cannot feed: {node.name}")
            self.input_types[node.name] = _INT_TYPES.get(node.type, np.int64)
        names = [node.name for node in self.session.get_outputs()]
        if self.task == "classification":
            self.main_output = "logits" if "logits" in names else names[0]
        elif "sentence_embedding" in names:
            self.main_output = "sentence_embedding"
        else:
            self.main_output = "last_hidden_state" if "last_hidden_state" in names else names[0]

    def execute(self, requests: Sequence[Any]) -> list[Any]:
        if self.stage == "tokenize":
            return [self._respond(self._tokenized, request) for request in requests]
        if self.stage == "postprocess":
            return [self._respond(self._postprocessed, request) for request in requests]
        prepared: list[list[list[int]] | BadInput] = []
        for request in requests:
            try:
                prepared.append(self._token_ids(request))
            except BadInput as exc:
                prepared.append(exc)
        rows = [ids for item in prepared if not isinstance(item, BadInput) for ids in item]
        results = iter(self._infer(rows) if rows else [])
        responses = []
        for item in prepared:
            if isinstance(item, BadInput):
                responses.append(_error(item))
                continue
            answers = np.stack([next(results) for _ in item])
            responses.append(pb_utils.InferenceResponse(output_tensors=self._outputs(answers)))
        return responses

    def _respond(self, run: Any, request: Any) -> Any:
        try:
            return pb_utils.InferenceResponse(output_tensors=run(request))
        except BadInput as exc:
            return _error(exc)

    def _tokenized(self, request: Any) -> list[Any]:
        feeds, attention_mask = self._feeds(self._token_ids(request))
        tensors = [pb_utils.Tensor(name, value) for name, value in feeds.items()]
        if "attention_mask" not in feeds:  # the postprocess step pools with it
            tensors.append(pb_utils.Tensor("attention_mask", attention_mask))
        return tensors

    def _postprocessed(self, request: Any) -> list[Any]:
        output = pb_utils.get_input_tensor_by_name(request, self.main_output).as_numpy()
        mask = pb_utils.get_input_tensor_by_name(request, "attention_mask").as_numpy()
        return self._outputs(np.stack(self._postprocess(output, mask.astype(np.int64))))

    # -- one request ---------------------------------------------------------------------------

    def _token_ids(self, request: Any) -> list[list[int]]:
        tensor = pb_utils.get_input_tensor_by_name(request, "text")
        raw = tensor.as_numpy().reshape(-1)
        texts = []
        for index, element in enumerate(raw):
            try:
                text = element.decode("utf-8") if isinstance(element, bytes) else str(element)
            except UnicodeDecodeError:
                raise BadInput(f"input 'text' element {index} is not UTF-8 text") from None
            if not text:
                raise BadInput(f"input 'text' element {index} is empty")
            texts.append(text)
        limit = self._truncation(request)
        keep = self.max_input_tokens if limit is None else min(limit, self.max_input_tokens)
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=True)
        rows = []
        # No zip(strict=): the stub's Python may be 3.8 or 3.9.
        for index, (text, encoding) in enumerate(zip(texts, encodings)):  # noqa: B905
            ids = list(encoding.ids)
            if limit is not None and len(ids) > keep:
                ids = self._truncated(text, keep)
            if len(ids) > keep:
                raise BadInput(
                    f"input[{index}] has {len(ids)} tokens, more than this model's limit of "
                    f"{self.max_input_tokens} tokens per input (max_input_tokens); shorten it "
                    'or ask to truncate with the request parameter "truncate": true'
                )
            rows.append(ids)
        return rows

    def _truncation(self, request: Any) -> int | None:
        # The reference server's rule (vLLM's names): None means "reject over-long inputs".
        try:
            parameters = json.loads(request.parameters() or "{}")
        except ValueError:
            parameters = {}
        keep = parameters.get("truncate_prompt_tokens")
        if keep is not None:
            if isinstance(keep, bool) or not isinstance(keep, int) or (keep < 1 and keep != -1):
                raise BadInput("'truncate_prompt_tokens' must be a positive integer or -1")
            return self.max_input_tokens if keep == -1 else keep
        truncate = parameters.get("truncate")
        if truncate is not None:
            if not isinstance(truncate, bool):
                raise BadInput("'truncate' must be true or false")
            return self.max_input_tokens if truncate else None
        return self.max_input_tokens if self.truncation_default else None

    def _truncated(self, text: str, keep: int) -> list[int]:
        encoding: Encoding = self.tokenizer.encode(text, add_special_tokens=False)
        encoding.truncate(max(1, keep - self.special_tokens))
        processed = self.tokenizer.post_process(encoding, None, add_special_tokens=True)
        return list(processed.ids)

    # -- the batch -----------------------------------------------------------------------------

    def _feeds(
        self, batch: list[list[int]]
    ) -> tuple[dict[str, npt.NDArray[Any]], npt.NDArray[np.int64]]:
        longest = max(len(ids) for ids in batch)
        input_ids = np.full((len(batch), longest), self.pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(batch), longest), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        candidates = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": np.zeros_like(input_ids),
            "position_ids": np.broadcast_to(np.arange(longest), input_ids.shape),
        }
        feeds = {
            name: np.ascontiguousarray(candidates[name], dtype=dtype)
            for name, dtype in self.input_types.items()
        }
        return feeds, attention_mask

    def _infer(self, batch: list[list[int]]) -> list[FloatArray]:
        feeds, attention_mask = self._feeds(batch)
        (output,) = self.session.run([self.main_output], feeds)
        return self._postprocess(output, attention_mask)

    def _postprocess(
        self, output: npt.NDArray[Any], attention_mask: npt.NDArray[np.int64]
    ) -> list[FloatArray]:
        if self.task == "classification":
            return list(_softmax(output))
        if output.ndim == 3:
            output = _pool(output, attention_mask, self.pooling)
        pooled = output.astype(np.float32)
        if self.normalize:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return list(pooled.astype(np.float32))

    def _outputs(self, answers: FloatArray) -> list[Any]:
        if self.task != "classification":
            return [pb_utils.Tensor("embedding", answers.astype(np.float32))]
        labels = self.labels or [f"LABEL_{i}" for i in range(answers.shape[1])]
        names = np.array([label.encode("utf-8") for label in labels], dtype=np.object_)
        top = names[answers.argmax(axis=1)].reshape(-1, 1)
        return [
            pb_utils.Tensor("probabilities", answers.astype(np.float32)),
            pb_utils.Tensor("label", top),
            pb_utils.Tensor("labels", np.tile(names, (len(answers), 1))),
        ]


def _error(exc: BadInput) -> Any:
    error = pb_utils.TritonError(str(exc), pb_utils.TritonError.INVALID_ARG)
    return pb_utils.InferenceResponse(output_tensors=[], error=error)


def _pad_id(tokenizer: Tokenizer) -> int:
    for token in ("[PAD]", "<pad>", "<|pad|>", "<|endoftext|>"):
        token_id = tokenizer.token_to_id(token)
        if token_id is not None:
            return int(token_id)
    return 0


def _softmax(logits: npt.NDArray[Any]) -> FloatArray:
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    probabilities: FloatArray = (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)
    return probabilities


def _pool(hidden: npt.NDArray[Any], attention_mask: npt.NDArray[np.int64], mode: str) -> FloatArray:
    hidden = hidden.astype(np.float32)
    if mode == "cls":
        cls: FloatArray = hidden[:, 0, :]
        return cls
    mask = attention_mask[:, :, None].astype(np.float32)
    if mode == "max":
        top: FloatArray = np.where(mask > 0, hidden, -np.inf).max(axis=1).astype(np.float32)
        return top
    summed = (hidden * mask).sum(axis=1)
    mean: FloatArray = (summed / np.maximum(mask.sum(axis=1), 1e-9)).astype(np.float32)
    return mean
