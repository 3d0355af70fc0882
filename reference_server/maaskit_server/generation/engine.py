"""The continuous-batching generation engine: one thread per model, steps batched across requests.

Each step boundary: drop cancelled and finished sequences, admit waiting ones (prefilled together
in one call), then decode one token for every running sequence in a single onnxruntime call.
Events go back to each request's queue through a per-loop mailbox: one ``call_soon_threadsafe``
per step at most, none while the loop has not yet emptied the previous delivery.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from maaskit_server.generation.chat_template import ChatTemplate
from maaskit_server.generation.detokenize import IncrementalDetokenizer
from maaskit_server.generation.errors import (
    ContextLengthError,
    EngineStoppedError,
    QueueFullError,
)
from maaskit_server.generation.events import (
    ErrorEvent,
    Event,
    EventQueue,
    FinishEvent,
    FinishReason,
    GenerationHandle,
    TokenEvent,
)
from maaskit_server.generation.grammar import GrammarCompiler, GrammarMatcher
from maaskit_server.generation.kv_batch import DecodeBatch
from maaskit_server.generation.mailbox import Mailbox
from maaskit_server.generation.metrics import GenerationMetrics
from maaskit_server.generation.model_config import GenerationModelConfig
from maaskit_server.generation.onnx_model import FloatArray, OnnxCausalLM
from maaskit_server.generation.params import SamplingParams
from maaskit_server.generation.sampling import BoolArray, SampledToken, TokenSampler, sample_rows
from maaskit_server.generation.scheduler import Scheduler
from maaskit_server.generation.stops import StopMatcher

logger = logging.getLogger(__name__)

_IDLE_WAIT_SECONDS = 0.25


@dataclass(eq=False)
class _Choices:
    """The n sequences of one handle: its end-to-end time is taken when the last finishes."""

    unfinished: int


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
    matcher: GrammarMatcher | None = None
    last_token_at: float | None = None
    choices: _Choices = field(default_factory=lambda: _Choices(1))


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
        self._batch: DecodeBatch[_Sequence] = DecodeBatch(
            model, use_cache=use_cache, before_forward=self._flush_outbox
        )
        self._outbox: dict[asyncio.AbstractEventLoop, list[tuple[GenerationHandle, Event]]] = {}
        self._mailboxes: dict[asyncio.AbstractEventLoop, Mailbox] = {}
        # Labelled children looked up once: labels() costs more than the update itself.
        self._generated_tokens = self.metrics.generated_tokens.labels(**self._labels)
        self._batch_size = self.metrics.batch_size.labels(**self._labels)
        self._ttft = self.metrics.time_to_first_token.labels(**self._labels)
        self._running_gauge = self.metrics.running.labels(**self._labels)
        self._waiting_gauge = self.metrics.waiting.labels(**self._labels)
        vllm = {"model_name": config.name}
        self._vllm_running = self.metrics.vllm_running.labels(**vllm)
        self._vllm_waiting = self.metrics.vllm_waiting.labels(**vllm)
        self._vllm_kv_cache = self.metrics.vllm_kv_cache_usage.labels(**vllm)
        self._vllm_ttft = self.metrics.vllm_time_to_first_token.labels(**vllm)
        self._vllm_itl = self.metrics.vllm_inter_token_latency.labels(**vllm)
        self._vllm_tpot = self.metrics.vllm_time_per_output_token.labels(**vllm)
        self._vllm_e2e = self.metrics.vllm_e2e_request_latency.labels(**vllm)
        self._kv_room = max(1, config.max_running_sequences * config.max_context_tokens)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._grammars: GrammarCompiler | None = None

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

    @property
    def grammars(self) -> GrammarCompiler:
        """llguidance's view of this model's tokenizer, built on first use (~40 ms)."""
        if self._grammars is None:
            self._grammars = GrammarCompiler(
                self.tokenizer.to_str(),
                sorted(self.eos_token_ids),
                self.model.vocab_size or self.tokenizer.get_vocab_size(),
            )
        return self._grammars

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
        queue: EventQueue | None = None,
        index_offset: int = 0,
        observed: bool = True,
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
            queue=queue if queue is not None else EventQueue(),
            observed=observed,
            _on_cancel=self._cancel,
        )
        sequences = [
            _Sequence(
                handle=handle,
                index=index_offset + index,
                sampler=TokenSampler(
                    params.for_choice(index),
                    prompt_ids=prompt_ids,
                    eos_token_ids=sorted(self.eos_token_ids),
                ),
                detokenizer=IncrementalDetokenizer(self.tokenizer, prompt_ids),
                stops=StopMatcher(params.stop),
                matcher=None if params.grammar is None else self.grammars.matcher(params.grammar),
            )
            for index in range(params.n)
        ]
        choices = _Choices(len(sequences))
        for seq in sequences:
            seq.choices = choices
        try:
            self._scheduler.submit(sequences)
        except QueueFullError as exc:
            raise QueueFullError(self.config.name, exc.retry_after_s) from None
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
            # Gauges first: a client that has its answer and scrapes /metrics sees them.
            self._update_gauges()
            # A step's events are otherwise posted right before the next onnxruntime call, so
            # that the event loop handles them while that call runs without the GIL.
            if self.config.step_delay_ms > 0 or not self._will_step():
                self._flush_outbox()
            if self.config.step_delay_ms > 0:
                self._stopping.wait(self.config.step_delay_ms / 1000.0)
        self._fail_everything("the server is shutting down")
        self._flush_outbox()

    def _iteration(self) -> None:
        for seq in self._scheduler.running:
            if seq.handle.cancelled:
                self._retire(seq)
        admitted = self._scheduler.admit()
        if admitted:
            self._admit(admitted)
        running = self._scheduler.running
        feed = {seq: seq.next_token for seq in running if seq.next_token is not None}
        if not feed:
            return
        self._batch_size.observe(len(feed))
        logits = self._batch.step_rows(feed)
        self._accept(self._batch.keys, logits)

    def _will_step(self) -> bool:
        return any(seq.next_token is not None for seq in self._scheduler.running)

    def _admit(self, admitted: list[_Sequence]) -> None:
        """Prefill the newly admitted sequences together; the n choices of a prompt share one."""
        fresh: list[_Sequence] = []
        forks: list[tuple[_Sequence, _Sequence]] = []
        first_of: dict[GenerationHandle, _Sequence] = {}
        for seq in admitted:
            if seq.handle.cancelled:
                self._retire(seq)
            elif seq.handle in first_of:
                forks.append((seq, first_of[seq.handle]))
            else:
                first_of[seq.handle] = seq
                fresh.append(seq)
        rows = self._prefill(fresh)
        accepted = list(rows)
        logits = [rows[seq] for seq in accepted]
        for seq, source in forks:
            if source in rows and self._batch.fork(seq, source):
                accepted.append(seq)
                logits.append(rows[source])
            else:
                self._retire(seq)  # its prompt failed; the request already has its error
        if accepted:
            self._accept(accepted, np.stack(logits))

    def _prefill(self, fresh: list[_Sequence]) -> dict[_Sequence, FloatArray]:
        if not fresh:
            return {}
        if len(fresh) > 1:
            try:
                logits = self._batch.prefill_many([(seq, seq.handle.prompt_ids) for seq in fresh])
                return {seq: logits[row] for row, seq in enumerate(fresh)}
            except Exception:
                # One bad prompt must not fail the others: find it by prefilling one at a time.
                logger.exception("batched prefill failed; prefilling one by one")
        rows: dict[_Sequence, FloatArray] = {}
        for seq in fresh:
            try:
                rows[seq] = self._batch.prefill(seq, seq.handle.prompt_ids)
            except Exception as exc:
                logger.exception("prefill failed")
                self._fail(seq.handle, f"generation failed: {exc}")
        return rows

    def _accept(self, seqs: Sequence[_Sequence], logits: FloatArray) -> None:
        """Sample the next token of every sequence (row ``i`` of ``logits`` is ``seqs[i]``)."""
        masks = self._masks(seqs, logits.shape[1])
        tokens = sample_rows([seq.sampler for seq in seqs], logits, masks)
        self._generated_tokens.inc(len(seqs))
        now = time.monotonic()
        for seq, token in zip(seqs, tokens, strict=True):
            self._accept_token(seq, token, now)

    def _masks(self, seqs: Sequence[_Sequence], vocab_size: int) -> list[BoolArray | None]:
        """The grammar mask of every constrained row (None for free rows), in one call."""
        bound = [seq for seq in seqs if seq.matcher is not None]
        masks: list[BoolArray | None] = [None] * len(seqs)
        if not bound:
            return masks
        allowed = self.grammars.allowed([seq.matcher for seq in bound if seq.matcher], vocab_size)
        rows = iter(allowed)
        for row, seq in enumerate(seqs):
            if seq.matcher is None:
                continue
            mask = next(rows)
            if not mask.any():
                # Only a grammar the checks let through yet llguidance cannot follow gets
                # here; with nothing to sample, its request fails and the batch goes on.
                self._fail(seq.handle, f"the grammar allows no next token: {seq.matcher.error}")
                mask[next(iter(self.eos_token_ids), 0)] = True
            masks[row] = mask
        return masks

    def _accept_token(self, seq: _Sequence, token: SampledToken, now: float) -> None:
        handle = seq.handle
        if handle.cancelled:
            self._retire(seq)  # failed inside this step (its grammar)
            return
        seq.generated += 1
        if handle.first_token_at is None:
            handle.first_token_at = now
            self._ttft.observe(now - handle.created)
            if handle.observed:
                self._vllm_ttft.observe(now - handle.created)
        if seq.last_token_at is not None and handle.observed:
            self._vllm_itl.observe(now - seq.last_token_at)
            self._vllm_tpot.observe(now - seq.last_token_at)
        seq.last_token_at = now
        if token.token_id in self.eos_token_ids and not seq.sampler.params.ignore_eos:
            self._emit(handle, TokenEvent(seq.index, "", token))
            self._finish(seq, "stop", seq.detokenizer.flush() + seq.stops.flush())
            return
        if seq.matcher is not None:
            try:
                seq.matcher.consume(token.token_id)
            except RuntimeError as exc:
                self._fail(handle, f"generation failed: {exc}")
                return
        # vLLM's min_tokens: stop strings count only in the text of later tokens.
        armed = seq.generated > seq.sampler.params.min_tokens
        text = seq.detokenizer.step(token.token_id)
        if seq.stops.active:
            check = seq.stops.feed(text, armed=armed)
            if check.stopped:
                self._emit(handle, TokenEvent(seq.index, check.text, token))
                self._finish(seq, "stop", "", stop=check.matched)
                return
            text = check.text
        # Without stop strings the text goes out as decoded: no StopCheck per token (~0.5 us).
        self._emit(handle, TokenEvent(seq.index, text, token))
        if token.token_id in seq.sampler.params.stop_token_ids or (
            seq.matcher is not None and seq.matcher.done
        ):
            # A stop token (vLLM's stop_token_ids; its text is kept, as vLLM keeps it), or the
            # grammar is complete and only the end of the output may follow.
            tail = seq.stops.feed(seq.detokenizer.flush(), armed=armed)
            self._finish(seq, "stop", tail.text + seq.stops.flush(), stop=tail.matched)
        elif seq.generated >= handle.max_new_tokens:
            tail = seq.stops.feed(seq.detokenizer.flush(), armed=armed)
            reason: FinishReason = "stop" if tail.stopped else "length"
            self._finish(seq, reason, tail.text + seq.stops.flush(), stop=tail.matched)
        else:
            seq.next_token = token.token_id

    def _finish(self, seq: _Sequence, reason: FinishReason, text: str, *, stop: str = "") -> None:
        self._emit(seq.handle, FinishEvent(seq.index, reason, text, seq.generated, stop))
        seq.choices.unfinished -= 1
        if seq.choices.unfinished == 0 and seq.last_token_at is not None and seq.handle.observed:
            self._vllm_e2e.observe(seq.last_token_at - seq.handle.created)
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
        self._batch = DecodeBatch(
            self.model, use_cache=self._batch.use_cache, before_forward=self._flush_outbox
        )

    def _fail_everything(self, message: str) -> None:
        """Shutting down: running and waiting requests all end with an error."""
        self._fail_running(message)
        # Admitted a batch at a time; retiring frees the slots, so this ends with the queue.
        while admitted := self._scheduler.admit():
            for seq in admitted:
                self._fail(seq.handle, message)
                self._retire(seq)

    def _emit(self, handle: GenerationHandle, event: Event) -> None:
        items = self._outbox.get(handle.loop)
        if items is None:
            items = self._outbox[handle.loop] = []
        items.append((handle, event))

    def _flush_outbox(self) -> None:
        outbox, self._outbox = self._outbox, {}
        for loop, items in outbox.items():
            mailbox = self._mailboxes.get(loop)
            if mailbox is None:
                mailbox = self._mailboxes[loop] = Mailbox(loop)
            if not mailbox.post(items):
                # The consumer's event loop is closed: nobody will read these events.
                del self._mailboxes[loop]
                for handle, _ in items:
                    handle._cancelled.set()

    def _update_gauges(self) -> None:
        running = self._scheduler.running
        waiting = self._scheduler.waiting_count
        self._running_gauge.set(len(running))
        self._waiting_gauge.set(waiting)
        self._vllm_running.set(len(running))
        self._vllm_waiting.set(waiting)
        held = sum(seq.handle.prompt_tokens + seq.generated for seq in running)
        self._vllm_kv_cache.set(min(1.0, held / self._kv_room))


def _eos_from_tokenizer(tokenizer: Tokenizer, config: GenerationModelConfig) -> frozenset[int]:
    eos = config.special_tokens.get("eos_token")
    token_id = tokenizer.token_to_id(eos) if eos else None
    return frozenset() if token_id is None else frozenset({token_id})
