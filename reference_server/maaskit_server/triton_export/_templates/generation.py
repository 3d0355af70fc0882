"""A decoupled Triton Python-backend model that generates text from a maaskit generation folder.

Written by ``maaskit models export-triton OUT --backend python`` as ``OUT/{model}/1/model.py``
next to the folder's ``model.onnx`` (optimum's causal-LM layout with ``past_key_values``) and
``tokenizer.json``. It speaks Triton's generate extension as the reference server does:

* ``POST /v2/models/{model}/generate`` ``{"text_input": "...", "parameters": {...}}`` answers
  ``{"text_output": "..."}``; ``generate_stream`` with ``"stream": true`` answers one SSE
  event per new piece of text (UTF-8 characters never split), as Triton's vLLM backend does;
* parameters (vLLM's names): ``max_tokens`` (default 16), ``temperature`` (default 1.0; 0 is
  greedy), ``top_k``, ``top_p``, ``seed``, ``ignore_eos``, ``stream``;
* a prompt that leaves no room for ``max_tokens`` in the model's context is a 400.

Each request is one sequence decoded to its end with the KV cache (``max_batch_size: 0``, no
batching across requests: the reference server's continuous batching is not reproduced here;
run more instances, or use Triton's vLLM / TensorRT-LLM backends, for throughput). Greedy
output equals the reference server's token for token; sampled output follows its parameters but
not its random stream. Self-contained like the encoder model: numpy, onnxruntime and tokenizers,
Python 3.8 syntax.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]
from tokenizers import Tokenizer
from tokenizers.decoders import DecodeStream

_PAST = re.compile(r"^past_key_values\.(\d+)\.(key|value)$")
_FLOAT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
_CONTEXT_TOKENS = 6  # prompt ids that prime the incremental decoder (as the reference server)


class BadInput(Exception):
    """A request Triton should answer with 400 (INVALID_ARG); the message says why."""


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        parameters = {
            key: value["string_value"] for key, value in config.get("parameters", {}).items()
        }
        self.max_context = int(parameters["maaskit_max_context_tokens"])
        self.eos_ids = set(json.loads(parameters.get("maaskit_eos_token_ids", "[]")))
        folder = os.path.join(args["model_repository"], args["model_version"])
        self.tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        options = ort.SessionOptions()
        # One intra-op thread decodes small models as fast as two (measured for the server).
        options.intra_op_num_threads = int(parameters.get("maaskit_intra_op_threads", "1"))
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            os.path.join(folder, "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        inputs = {node.name: node for node in self.session.get_inputs()}
        self.past_names = sorted(
            (name for name in inputs if _PAST.match(name)),
            key=lambda name: (int(name.split(".")[1]), name.endswith("value")),
        )
        self.present_names = [
            name.replace("past_key_values", "present") for name in self.past_names
        ]
        first = inputs[self.past_names[0]] if self.past_names else None
        self.heads = first.shape[1] if first is not None else 0
        self.head_dim = first.shape[3] if first is not None else 0
        self.kv_type = _FLOAT_TYPES.get(first.type, np.float32) if first is not None else None
        self.feeds_mask = "attention_mask" in inputs
        self.feeds_positions = "position_ids" in inputs

    def execute(self, requests: list[Any]) -> None:
        for request in requests:
            sender = request.get_response_sender()
            try:
                self._generate(request, sender)
            except BadInput as exc:
                error = pb_utils.TritonError(str(exc), pb_utils.TritonError.INVALID_ARG)
                sender.send(
                    pb_utils.InferenceResponse(output_tensors=[], error=error),
                    flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL,
                )
        return None

    def _generate(self, request: Any, sender: Any) -> None:
        prompt = _text(request)
        params = _parameters(request)
        max_tokens = _integer(params, "max_tokens", 16, minimum=1)
        ids = list(self.tokenizer.encode(prompt).ids)
        if not ids:
            raise BadInput("text_input encodes to no tokens")
        if len(ids) + max_tokens > self.max_context:
            raise BadInput(
                f"this model's context is {self.max_context} tokens: the prompt has {len(ids)} "
                f"and max_tokens is {max_tokens}; shorten the prompt or ask for fewer tokens"
            )
        choose = _Sampler(params)
        stream = params.get("stream") is True
        decoder = DecodeStream(ids=ids[-_CONTEXT_TOKENS:], skip_special_tokens=True)
        pending: list[int] = []
        text: list[str] = []
        past = self._empty_past()
        step_ids, position = ids, 0
        for _ in range(max_tokens):
            logits, past = self._forward(step_ids, position, past)
            position += len(step_ids)
            token = choose(logits)
            if token in self.eos_ids and params.get("ignore_eos") is not True:
                break
            piece = decoder.step(self.tokenizer, token)
            if piece is None:
                pending.append(token)
            else:
                pending.clear()
                text.append(piece)
                if stream:
                    sender.send(_response(piece))
            step_ids = [token]
        if pending:  # incomplete bytes at the end, decoded lossily
            tail = self.tokenizer.decode(pending, skip_special_tokens=True)
            text.append(tail)
            if stream:
                sender.send(_response(tail))
        final = pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL
        if stream:
            sender.send(flags=final)
        else:
            sender.send(_response("".join(text)), flags=final)

    def _empty_past(self) -> list[npt.NDArray[Any]]:
        shape = (1, self.heads, 0, self.head_dim)
        return [np.zeros(shape, dtype=self.kv_type) for _ in self.past_names]

    def _forward(
        self, step_ids: list[int], position: int, past: list[npt.NDArray[Any]]
    ) -> tuple[npt.NDArray[Any], list[npt.NDArray[Any]]]:
        total = position + len(step_ids)
        feeds: dict[str, npt.NDArray[Any]] = {"input_ids": np.array([step_ids], dtype=np.int64)}
        if self.feeds_mask:
            feeds["attention_mask"] = np.ones((1, total), dtype=np.int64)
        if self.feeds_positions:
            feeds["position_ids"] = np.arange(position, total, dtype=np.int64)[None, :]
        feeds.update(zip(self.past_names, past))  # noqa: B905 (Python 3.8)
        results = self.session.run(["logits", *self.present_names], feeds)
        return results[0][0, -1], list(results[1:])


class _Sampler:
    """Greedy at temperature 0, else temperature, top-k and top-p sampling (seeded if asked)."""

    def __init__(self, params: dict[str, Any]) -> None:
        temperature = params.get("temperature", 1.0)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise BadInput("'temperature' must be a number")
        if temperature < 0:
            raise BadInput("'temperature' must be >= 0")
        self.temperature = float(temperature)
        self.top_k = _integer(params, "top_k", 0, minimum=-1)
        top_p = params.get("top_p", 1.0)
        if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
            raise BadInput("'top_p' must be a number in (0, 1]")
        self.top_p = float(top_p)
        seed = params.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise BadInput("'seed' must be an integer")
        self.random = np.random.default_rng(seed)

    def __call__(self, logits: npt.NDArray[Any]) -> int:
        if self.temperature == 0:
            return int(np.argmax(logits))
        scores = logits.astype(np.float64) / self.temperature
        if self.top_k > 0:
            cutoff = np.sort(scores)[-min(self.top_k, scores.size)]
            scores = np.where(scores < cutoff, -np.inf, scores)
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        if self.top_p < 1:
            order = np.argsort(-probs)
            keep = np.cumsum(probs[order]) - probs[order] < self.top_p
            mask = np.zeros_like(probs, dtype=bool)
            mask[order[keep]] = True
            probs = np.where(mask, probs, 0.0)
            probs /= probs.sum()
        return int(self.random.choice(probs.size, p=probs))


def _text(request: Any) -> str:
    raw = pb_utils.get_input_tensor_by_name(request, "text_input").as_numpy().reshape(-1)
    if raw.size != 1:
        raise BadInput(f"text_input must hold one prompt, not {raw.size}")
    element = raw[0]
    try:
        text = element.decode("utf-8") if isinstance(element, bytes) else str(element)
    except UnicodeDecodeError:
        raise BadInput("text_input is not UTF-8 text") from None
    if not text:
        raise BadInput("text_input is empty")
    return text


def _parameters(request: Any) -> dict[str, Any]:
    try:
        parameters = json.loads(request.parameters() or "{}")
    except ValueError:
        return {}
    return parameters if isinstance(parameters, dict) else {}


def _integer(params: dict[str, Any], key: str, default: int, *, minimum: int) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadInput(f"{key!r} must be an integer >= {minimum}")
    return value


def _response(text: str) -> Any:
    output = np.array([text.encode("utf-8")], dtype=np.object_)
    return pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("text_output", output)])
