"""The part every encoder task shares: tokenizer, session, padded and batched inference."""

from __future__ import annotations

import asyncio
import functools
import queue
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from ..batching import BatcherLimits, DynamicBatcher
from ..inputs import InputError, TooManyInputsError
from ..metrics import count_tokens
from ..model_spec import ModelSpec
from ..tokenization import (
    TextInputs,
    TextTokenizer,
    fit_text,
    prepare_token_ids,
    too_many_characters,
)
from . import RuntimeContext
from ._session import create_session, usable_cores

FloatArray = npt.NDArray[np.float32]
_KNOWN_INPUTS = {"input_ids", "attention_mask", "token_type_ids", "position_ids"}
_ONNX_INT_TYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}


@dataclass(frozen=True)
class PendingInput:
    """One input in the batcher's queue: a text still to tokenize, or ready token ids.

    Texts are tokenized by the batch runner, all of a batch in one ``encode_batch`` call in the
    worker thread: per-request tokenization jobs would compete with inference for the thread pool
    and reach the batcher one by one, so batches would stay small under load.
    """

    index: int  # position in its request, for error messages
    text: str | None = None
    ids: list[int] | None = None
    truncate_to: int | None = None


@dataclass(frozen=True)
class Encoded:
    output: FloatArray
    tokens: int


def _lane_sessions(
    spec: ModelSpec, lanes: int, threads: int
) -> queue.SimpleQueue[ort.InferenceSession]:
    """One session per lane, except single-threaded lanes, which can share one: such a call
    runs on its caller's thread, so two calls from two worker threads run side by side."""
    free: queue.SimpleQueue[ort.InferenceSession] = queue.SimpleQueue()
    if lanes < 2:
        return free
    if threads == 1:
        shared = create_session(spec.onnx_path, intra_op_threads=1)
        for _ in range(lanes):
            free.put(shared)
        return free
    for _ in range(lanes):
        free.put(create_session(spec.onnx_path, intra_op_threads=threads))
    return free


def _approximate_length(item: PendingInput) -> int:
    # For length buckets only: before tokenization, about four characters per token.
    if item.ids is not None:
        return len(item.ids)
    return len(item.text or "") // 4 + 2


class EncoderRuntime:
    """Base for classification and embeddings; subclasses implement :meth:`postprocess`."""

    task: ClassVar[str]  # each subclass's maaskit.json task

    def __init__(self, spec: ModelSpec, context: RuntimeContext) -> None:
        self.spec = spec
        self.tokenizer = TextTokenizer(spec.tokenizer_path)
        self.session = create_session(
            spec.onnx_path,
            intra_op_threads=context.intra_op_threads,
        )
        cores = context.intra_op_threads or usable_cores()
        lanes = context.encoder_lanes or (2 if cores >= 2 else 1)
        self._lane_sessions = _lane_sessions(spec, lanes, max(1, cores // lanes))
        self._input_types: dict[str, Any] = {}
        for node in self.session.get_inputs():
            if node.name not in _KNOWN_INPUTS:
                raise ValueError(f"model.onnx has an input this runtime cannot feed: {node.name}")
            self._input_types[node.name] = _ONNX_INT_TYPES.get(node.type, np.int64)
        if "input_ids" not in self._input_types:
            raise ValueError("model.onnx has no input_ids input")
        self._output_names = [node.name for node in self.session.get_outputs()]
        self._executor = context.executor
        self.batcher: DynamicBatcher[PendingInput, Encoded | InputError] = DynamicBatcher(
            spec.name,
            functools.partial(self._run_pending, session=self.session),
            run_lane=self._run_lane if lanes > 1 else None,
            executor=context.executor,
            limits=BatcherLimits(
                max_batch_size=spec.batching.max_batch_size,
                max_queue_delay_s=spec.batching.max_queue_delay_ms / 1000.0,
                max_queue_size=context.max_queue_size,
                bucket_by_length=spec.batching.bucket_by_length,
                lanes=lanes,
                max_batch_tokens=spec.batching.max_batch_tokens,
            ),
            length_of=_approximate_length,
        )

    async def tokenize(self, inputs: TextInputs, *, truncate_to: int | None) -> list[list[int]]:
        """Token ids for ``inputs``, computed off the event loop; 400 if one is too long."""
        loop = asyncio.get_running_loop()
        prepare = functools.partial(
            prepare_token_ids,
            self.tokenizer,
            inputs,
            max_tokens=self.spec.max_input_tokens,
            truncate_to=truncate_to,
        )
        return await loop.run_in_executor(self._executor, prepare)

    async def encode(
        self, inputs: TextInputs, *, truncate_to: int | None
    ) -> tuple[list[FloatArray], int]:
        """One output row per input and the request's prompt tokens; 400 if one is too long.

        Texts are tokenized in the batch runner; token-id inputs are checked in the thread pool
        first (their vocabulary check may be long and names the first bad input).
        """
        items: list[PendingInput]
        if inputs and isinstance(inputs[0], str):
            # The cheap bound first: a text too long for any tokenization of it is refused (or
            # cut, when truncating) before it reaches the tokenizer (a 1.9 MB input took 8-25 s
            # of CPU and left ~274 MB behind).
            bound = self.tokenizer.max_chars(self.spec.max_input_tokens)
            texts = [str(text) for text in inputs]
            for index, text in enumerate(texts):
                if len(text) > bound:
                    if truncate_to is None:
                        raise too_many_characters(
                            index, text, max_tokens=self.spec.max_input_tokens
                        )
                    texts[index] = text[:bound]
            items = [
                PendingInput(index, text=text, truncate_to=truncate_to)
                for index, text in enumerate(texts)
            ]
        else:
            token_ids = await self.tokenize(inputs, truncate_to=truncate_to)
            items = [PendingInput(index, ids=ids) for index, ids in enumerate(token_ids)]
        results = await self._submit(items)
        encoded: list[Encoded] = []
        for result in results:
            if isinstance(result, InputError):  # the runner returns errors, submit raises them
                raise result
            encoded.append(result)
        tokens = sum(item.tokens for item in encoded)
        count_tokens(self.spec.name, "prompt", tokens)
        return [item.output for item in encoded], tokens

    async def infer(self, token_ids: list[list[int]]) -> list[FloatArray]:
        """One output row per input, through the model's dynamic batcher."""
        items = [PendingInput(index, ids=ids) for index, ids in enumerate(token_ids)]
        results = await self._submit(items)
        count_tokens(self.spec.name, "prompt", sum(len(ids) for ids in token_ids))
        return [result.output for result in results if isinstance(result, Encoded)]

    async def _submit(self, items: list[PendingInput]) -> list[Encoded | InputError]:
        queue_size = self.batcher.limits.max_queue_size
        if len(items) > queue_size:
            # A 429 here could never succeed on retry: the request is larger than the queue.
            raise TooManyInputsError(
                f"this request has {len(items)} inputs; model {self.spec.name!r} queues at "
                f"most {queue_size} (max_queue_size): split it into smaller requests"
            )
        return await self.batcher.submit(items)  # QueueFullError: the app answers 429

    def infer_unbatched(self, token_ids: list[int]) -> FloatArray:
        """Blocking single-input inference, bypassing the batcher (for tests and tools)."""
        return self._infer_batch([token_ids], self.session)[0]

    async def warmup(self) -> None:
        await self.encode(["Warming up."], truncate_to=None)

    async def close(self) -> None:
        await self.batcher.close()

    def describe(self) -> dict[str, Any]:
        return {"max_input_tokens": self.spec.max_input_tokens}

    def _run_lane(self, batch: Sequence[PendingInput]) -> list[Encoded | InputError]:
        session = self._lane_sessions.get()
        try:
            return self._run_pending(batch, session=session)
        finally:
            self._lane_sessions.put(session)

    def _run_pending(
        self, batch: Sequence[PendingInput], *, session: ort.InferenceSession
    ) -> list[Encoded | InputError]:
        """Run in a worker thread: tokenize the batch's texts at once, then one inference.

        An input over the limit becomes an :class:`InputError` in its own place only.
        """
        texts = [item.text for item in batch if item.text is not None]
        encoded = iter(self.tokenizer.encode(texts) if texts else [])
        results: list[Encoded | InputError | None] = [None] * len(batch)
        ready: list[tuple[int, list[int]]] = []
        for position, item in enumerate(batch):
            if item.ids is not None:
                ready.append((position, item.ids))
                continue
            assert item.text is not None
            try:
                ids = fit_text(
                    self.tokenizer,
                    item.index,
                    item.text,
                    next(encoded),
                    max_tokens=self.spec.max_input_tokens,
                    truncate_to=item.truncate_to,
                )
            except InputError as exc:
                results[position] = exc
                continue
            ready.append((position, ids))
        if ready:
            outputs = self._infer_batch([ids for _, ids in ready], session)
            for (position, ids), output in zip(ready, outputs, strict=True):
                results[position] = Encoded(output, len(ids))
        return results  # type: ignore[return-value]

    def _infer_batch(
        self, batch: Sequence[list[int]], session: ort.InferenceSession
    ) -> list[FloatArray]:
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
            "position_ids": np.broadcast_to(np.arange(longest), input_ids.shape),
        }
        feeds = {
            name: np.ascontiguousarray(candidates[name], dtype=dtype)
            for name, dtype in self._input_types.items()
        }
        outputs = session.run(self._output_names, feeds)
        named = dict(zip(self._output_names, outputs, strict=True))
        return self.postprocess(named, attention_mask)

    def postprocess(
        self, outputs: dict[str, npt.NDArray[Any]], attention_mask: npt.NDArray[np.int64]
    ) -> list[FloatArray]:
        raise NotImplementedError
