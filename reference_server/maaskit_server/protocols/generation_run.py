"""Submitting one API request's prompts to the engine and reading back its events: the run
every protocol's generation routes share (OpenAI, TGI, KServe, Ollama).

A completions request may carry several prompts and any request may ask for ``n`` choices; all
of them share one event queue, with choice indexes ``prompt_index * n + i`` as OpenAI numbers
them. Waiting is always bounded, and leaving early cancels the sequences in the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.requests import Request

from ..errors import APIError, bad_request
from ..generation.errors import (
    ContextLengthError,
    EngineStoppedError,
    InvalidParameterError,
    QueueFullError,
)
from ..generation.events import ErrorEvent, EventQueue, FinishEvent, GenerationHandle, TokenEvent
from ..generation.params import SamplingParams
from ..generation.sampling import SampledToken
from ..metrics import count_tokens
from ..runtimes.generation import GenerationRuntime

# Longest silence tolerated between two events of a running request; a stuck engine then
# produces an error instead of a hung client.
EVENT_TIMEOUT_SECONDS = 120.0


class GenerationFailed(Exception):
    """The engine reported an error for this request (after it was accepted)."""


@dataclass
class Choice:
    """What has been generated so far for one choice, for non-streaming answers."""

    index: int
    text: str = ""
    tokens: list[SampledToken] = field(default_factory=list)
    finish_reason: str | None = None
    completion_tokens: int = 0
    stop: str = ""  # the stop string that ended it (not in ``text``)


class GenerationRun:
    def __init__(
        self, runtime: GenerationRuntime, prompts: list[list[int]], params: SamplingParams
    ) -> None:
        engine = runtime.engine
        vocab = engine.grammars.vocab_size
        for param, token in params.token_ids():
            if token >= vocab:
                message = f"'{param}' names token {token}; this model's vocabulary has {vocab}."
                raise bad_request(message, param=param, code="invalid_token_id")
        for prompt in prompts:
            try:
                engine.max_new_tokens(len(prompt), params.max_tokens)
            except ContextLengthError as exc:
                raise context_error(exc) from exc
        self.prompt_tokens = sum(len(prompt) for prompt in prompts)
        self.choice_count = len(prompts) * params.n
        limit = engine.config.max_waiting
        if self.choice_count > limit:
            # Would never fit the waiting queue: a 429 would invite retries that cannot succeed.
            raise bad_request(
                f"This request asks for {self.choice_count} sequences (prompts x n); model "
                f"{engine.config.name!r} queues at most {limit} at a time.",
                param="n",
                code="too_many_sequences",
            )
        self._queue = EventQueue()
        self._handles: list[GenerationHandle] = []
        self._client_gone = False
        try:
            for number, prompt in enumerate(prompts):
                handle = engine.submit(
                    prompt, params, queue=self._queue, index_offset=number * params.n
                )
                self._handles.append(handle)
        except QueueFullError:
            self.cancel()
            raise  # the app answers 429
        except EngineStoppedError as exc:
            self.cancel()
            raise APIError(503, str(exc), type="server_error", code="shutting_down") from exc
        # Counted here for every protocol: the prompts the engine took, and below each
        # choice's tokens when it finishes.
        self._model = engine.config.name
        count_tokens(self._model, "prompt", self.prompt_tokens)

    def cancel(self) -> None:
        for handle in self._handles:
            handle.cancel()

    async def batches(self) -> AsyncIterator[list[TokenEvent | FinishEvent]]:
        """Events in arrival order, all that are waiting at once (a stream that fell behind
        writes them together); raises GenerationFailed on an engine error."""
        remaining = self.choice_count
        while remaining > 0:
            try:
                arrived = await self._queue.get_batch(EVENT_TIMEOUT_SECONDS)
            except TimeoutError as exc:
                raise GenerationFailed("generation stalled; the request was abandoned") from exc
            ready: list[TokenEvent | FinishEvent] = []
            for event in arrived:
                if isinstance(event, ErrorEvent):
                    if ready:
                        yield ready
                    raise GenerationFailed(event.message)
                if isinstance(event, FinishEvent):
                    remaining -= 1
                    count_tokens(self._model, "completion", event.completion_tokens)
                ready.append(event)
            yield ready

    async def events(self) -> AsyncIterator[TokenEvent | FinishEvent]:
        """Token and finish events of every choice; raises GenerationFailed on an engine error."""
        async for batch in self.batches():
            for event in batch:
                yield event

    async def collect(self, request: Request) -> list[Choice]:
        """Run to the end (non-streaming); a client that disconnects cancels the work."""
        choices = [Choice(index) for index in range(self.choice_count)]
        watcher = asyncio.create_task(self._cancel_on_disconnect(request))
        try:
            async for event in self.events():
                choice = choices[event.index]
                choice.text += event.text
                if isinstance(event, TokenEvent):
                    choice.tokens.append(event.token)
                else:
                    choice.finish_reason = event.reason
                    choice.completion_tokens = event.completion_tokens
                    choice.stop = event.stop
        except GenerationFailed as exc:
            if self._client_gone:
                # Nobody reads this answer; 499 keeps the metrics honest about why it ended.
                raise APIError(499, str(exc), code="client_disconnected") from exc
            raise APIError(500, str(exc), type="server_error", code="generation_failed") from exc
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            self.cancel()
        return choices

    async def _cancel_on_disconnect(self, request: Request) -> None:
        # The body is already read, so the next ASGI message is the client going away.
        while (await request.receive())["type"] != "http.disconnect":
            pass
        self._client_gone = True
        self.cancel()
        self._queue.put_nowait(ErrorEvent("the client disconnected"))


def context_error(exc: InvalidParameterError) -> APIError:
    return bad_request(exc.message, param=exc.param, code="context_length_exceeded")


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
