"""The continuous-batching generation engine: one thread per model, steps batched across requests.

Each step boundary: drop cancelled and finished sequences, admit waiting ones (prefilled one by
one), then decode one token for every running sequence in a single onnxruntime call. Events go
back to each request's asyncio queue through ``loop.call_soon_threadsafe``, batched per step.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tokenizers import Tokenizer

from maaskit_server.generation.chat_template import ChatTemplate
from maaskit_server.generation.detokenize import IncrementalDetokenizer
from maaskit_server.generation.errors import ContextLengthError, EngineStoppedError
from maaskit_server.generation.events import (
    ErrorEvent,
    Event,
    FinishEvent,
    FinishReason,
    GenerationHandle,
    TokenEvent,
)
from maaskit_server.generation.kv_batch import DecodeBatch
from maaskit_server.generation.metrics import GenerationMetrics
from maaskit_server.generation.model_config import GenerationModelConfig
from maaskit_server.generation.onnx_model import FloatArray, OnnxCausalLM
from maaskit_server.generation.params import SamplingParams
from maaskit_server.generation.sampling import TokenSampler
from maaskit_server.generation.scheduler import Scheduler
from maaskit_server.generation.stops import StopMatcher

logger = logging.getLogger(__name__)

_IDLE_WAIT_SECONDS = 0.25


@dataclass(eq=False)
class _Sequence:
    """One choice of one request, as the engine thread sees it."""

    handle: GenerationHandle
    index: int
    sampler: TokenSampler
    detokenizer: IncrementalDetokenizer
    stops: StopMatcher
    generated: int = 0
    next_token: int | None = field(default=None)


class GenerationEngine:
    def __init__(
        self,
        config: GenerationModelConfig,
        model: OnnxCausalLM,
        tokenizer: Tokenizer,
        metrics: GenerationMetrics | None = None,
        use_cache: bool = True,
    ) -> None:
        self.config = config
        self.model = model
        self.tokenizer = tokenizer
        self.chat_template = ChatTemplate(config.chat_template, config.special_tokens)
        self.eos_token_ids = config.eos_token_ids or _eos_from_tokenizer(tokenizer, config)
        self.metrics = metrics if metrics is not None else GenerationMetrics()
        self._labels = {"model": config.name}
        self._scheduler: Scheduler[_Sequence] = Scheduler(
            config.max_running_sequences, config.max_waiting
        )
        self._batch: DecodeBatch[_Sequence] = DecodeBatch(model, use_cache=use_cache)
        self._outbox: dict[asyncio.AbstractEventLoop, list[tuple[GenerationHandle, Event]]] = (
            defaultdict(list)
        )
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_folder(
        cls,
        folder: Path,
        name: str | None = None,
        metrics: GenerationMetrics | None = None,
        use_cache: bool = True,
    ) -> GenerationEngine:
        config = GenerationModelConfig.from_folder(folder, name)
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        model = OnnxCausalLM(folder / "model.onnx")
        return cls(config, model, tokenizer, metrics=metrics, use_cache=use_cache)

    # -- asyncio side ---------------------------------------------------------------------

    def encode(self, text: str) -> list[int]:
        # The tokenizer's post-processor decides about BOS; byte-level GPT-2 adds none.
        return list(self.tokenizer.encode(text).ids)

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))

    def max_new_tokens(self, prompt_tokens: int, max_tokens: int | None) -> int:
        """Tokens the request may generate; raises when the prompt leaves no room."""
        limit = self.config.max_context_tokens
        room = limit - prompt_tokens
        if room < 1 or (max_tokens is not None and max_tokens > room):
            raise ContextLengthError(limit, prompt_tokens, max_tokens)
        return room if max_tokens is None else max_tokens

    def submit(
        self,
        prompt_ids: list[int],
        params: SamplingParams,
        *,
        queue: asyncio.Queue[Event] | None = None,
        index_offset: int = 0,
    ) -> GenerationHandle:
        """Queue a request (raises ContextLengthError, QueueFullError); call from the loop.

        Several prompts of one API request may share ``queue``; their events then carry choice
        indexes starting at ``index_offset``.
        """
        if not prompt_ids:
            raise ContextLengthError(self.config.max_context_tokens, 0, params.max_tokens)
        if self._stopping.is_set():
            raise EngineStoppedError("the generation engine is shut down")
        handle = GenerationHandle(
            prompt_ids=list(prompt_ids),
            params=params,
            max_new_tokens=self.max_new_tokens(len(prompt_ids), params.max_tokens),
            loop=asyncio.get_running_loop(),
            queue=queue if queue is not None else asyncio.Queue(),
            _on_cancel=self._cancel,
        )
        sequences = [
            _Sequence(
                handle=handle,
                index=index_offset + index,
                sampler=TokenSampler(params.for_choice(index)),
                detokenizer=IncrementalDetokenizer(self.tokenizer, prompt_ids),
                stops=StopMatcher(params.stop),
            )
            for index in range(params.n)
        ]
        self._scheduler.submit(sequences)
        self._update_gauges()
        return handle

    def _cancel(self, handle: GenerationHandle) -> None:
        # Waiting sequences leave the queue now; running ones at the next step boundary.
        self._scheduler.withdraw_matching(lambda seq: seq.handle is handle)
        self._update_gauges()
        self._scheduler.wake()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name=f"generation-{self.config.name}", daemon=True
        )
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._scheduler.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running_count(self) -> int:
        return self._scheduler.running_count

    @property
    def waiting_count(self) -> int:
        return self._scheduler.waiting_count

    # -- engine thread --------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._scheduler.wait_for_work(_IDLE_WAIT_SECONDS):
                continue
            try:
                self._iteration()
            except Exception as exc:  # the engine must outlive any one bad step
                logger.exception("generation step failed")
                self._fail_running(f"generation failed: {exc}")
            self._flush_outbox()
            self._update_gauges()
            if self.config.step_delay_ms > 0:
                self._stopping.wait(self.config.step_delay_ms / 1000.0)
        self._fail_everything("the server is shutting down")
        self._flush_outbox()

    def _iteration(self) -> None:
        for seq in self._scheduler.running:
            if seq.handle.cancelled:
                self._retire(seq)
        # The n choices of a request share one prompt: prefill it once, fork the rest.
        prefilled: dict[GenerationHandle, tuple[_Sequence, FloatArray]] = {}
        for seq in self._scheduler.admit():
            if seq.handle.cancelled:
                self._retire(seq)
                continue
            earlier = prefilled.get(seq.handle)
            if earlier is not None and self._batch.fork(seq, earlier[0]):
                self._accept(seq, earlier[1])
                continue
            try:
                logits = self._batch.prefill(seq, seq.handle.prompt_ids)
            except Exception as exc:  # one bad prompt must not take the batch down
                logger.exception("prefill failed")
                self._fail(seq.handle, f"generation failed: {exc}")
                continue
            prefilled[seq.handle] = (seq, logits)
            self._accept(seq, logits)
        stepping = {seq: seq.next_token for seq in self._scheduler.running}
        feed = {seq: token for seq, token in stepping.items() if token is not None}
        if not feed:
            return
        self.metrics.batch_size.labels(**self._labels).observe(len(feed))
        for seq, logits in self._batch.step(feed).items():
            self._accept(seq, logits)

    def _accept(self, seq: _Sequence, logits: FloatArray) -> None:
        """Sample the next token of ``seq`` and turn it into events."""
        handle = seq.handle
        token = seq.sampler.sample(logits)
        seq.generated += 1
        self.metrics.generated_tokens.labels(**self._labels).inc()
        if handle.first_token_at is None:
            handle.first_token_at = time.monotonic()
            self.metrics.time_to_first_token.labels(**self._labels).observe(
                handle.first_token_at - handle.created
            )
        if token.token_id in self.eos_token_ids and not seq.sampler.params.ignore_eos:
            self._emit(handle, TokenEvent(seq.index, "", token))
            self._finish(seq, "stop", seq.detokenizer.flush() + seq.stops.flush())
            return
        check = seq.stops.feed(seq.detokenizer.step(token.token_id))
        self._emit(handle, TokenEvent(seq.index, check.text, token))
        if check.stopped:
            self._finish(seq, "stop", "")
        elif seq.generated >= handle.max_new_tokens:
            tail = seq.stops.feed(seq.detokenizer.flush())
            self._finish(seq, "stop" if tail.stopped else "length", tail.text + seq.stops.flush())
        else:
            seq.next_token = token.token_id

    def _finish(self, seq: _Sequence, reason: FinishReason, text: str) -> None:
        self._emit(seq.handle, FinishEvent(seq.index, reason, text, seq.generated))
        self._retire(seq)

    def _retire(self, seq: _Sequence) -> None:
        seq.next_token = None
        self._batch.remove(seq)
        self._scheduler.retire(seq)

    def _fail(self, handle: GenerationHandle, message: str) -> None:
        """End every choice of ``handle`` with an error event."""
        if handle.cancelled:
            return
        self._emit(handle, ErrorEvent(message))
        handle._cancelled.set()
        self._scheduler.withdraw_matching(lambda seq: seq.handle is handle)
        for seq in self._scheduler.running:
            if seq.handle is handle:
                self._retire(seq)

    def _fail_running(self, message: str) -> None:
        """A step failed: its sequences end with an error; waiting ones run next."""
        for seq in self._scheduler.running:
            self._fail(seq.handle, message)
            self._retire(seq)
        self._batch = DecodeBatch(self.model, use_cache=self._batch.use_cache)

    def _fail_everything(self, message: str) -> None:
        """Shutting down: running and waiting requests all end with an error."""
        self._fail_running(message)
        # Admitted a batch at a time; retiring frees the slots, so this ends with the queue.
        while admitted := self._scheduler.admit():
            for seq in admitted:
                self._fail(seq.handle, message)
                self._retire(seq)

    def _emit(self, handle: GenerationHandle, event: Event) -> None:
        self._outbox[handle.loop].append((handle, event))

    def _flush_outbox(self) -> None:
        outbox, self._outbox = self._outbox, defaultdict(list)
        for loop, items in outbox.items():
            try:
                loop.call_soon_threadsafe(_deliver, items)
            except RuntimeError:
                # The consumer's event loop is closed: nobody will read these events.
                for handle, _ in items:
                    handle._cancelled.set()

    def _update_gauges(self) -> None:
        self.metrics.running.labels(**self._labels).set(self._scheduler.running_count)
        self.metrics.waiting.labels(**self._labels).set(self._scheduler.waiting_count)


def _deliver(items: list[tuple[GenerationHandle, Event]]) -> None:
    for handle, event in items:
        handle.queue.put_nowait(event)


def _eos_from_tokenizer(tokenizer: Tokenizer, config: GenerationModelConfig) -> frozenset[int]:
    eos = config.special_tokens.get("eos_token")
    token_id = tokenizer.token_to_id(eos) if eos else None
    return frozenset() if token_id is None else frozenset({token_id})
