"""What the engine thread sends back to the asyncio side, and the handle a caller awaits on."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from maaskit_server.generation.params import SamplingParams
from maaskit_server.generation.sampling import SampledToken

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class TokenEvent:
    """One generated token of choice ``index``; ``text`` may be empty while held back."""

    index: int
    text: str
    token: SampledToken


@dataclass(frozen=True)
class FinishEvent:
    """Choice ``index`` ended; ``text`` is what was still held back and may now be emitted."""

    index: int
    reason: FinishReason
    text: str
    completion_tokens: int
    stop: str = ""  # the stop string that ended the choice, if one did (never in ``text``)


@dataclass(frozen=True)
class ErrorEvent:
    message: str


Event = TokenEvent | FinishEvent | ErrorEvent


class EventQueue:
    """The events of one request, put by the event loop and read in batches by its consumer.

    A consumer that fell behind takes everything waiting in one call; waiting costs one future
    (no task, unlike ``asyncio.wait_for(queue.get())``) and only when nothing is there. Loop-only,
    like ``asyncio.Queue``; the engine thread hands events over with ``call_soon_threadsafe``.
    """

    def __init__(self) -> None:
        self._items: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, event: Event) -> None:
        self._items.append(event)
        self._wake()

    def put_many(self, events: Iterable[Event]) -> None:
        self._items.extend(events)
        self._wake()

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def get_nowait(self) -> Event:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    async def get(self) -> Event:
        while not self._items:
            await self._wait(None)
        return self._items.popleft()

    async def get_batch(self, timeout: float | None) -> list[Event]:
        """Every waiting event, after waiting up to ``timeout`` for one (TimeoutError)."""
        if not self._items:
            await self._wait(timeout)
        batch = list(self._items)
        self._items.clear()
        return batch

    async def _wait(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


@dataclass(eq=False)
class GenerationHandle:
    """A submitted request: ``n`` sequences sharing one prompt and one event queue."""

    prompt_ids: list[int]
    params: SamplingParams
    max_new_tokens: int
    loop: asyncio.AbstractEventLoop
    queue: EventQueue = field(default_factory=EventQueue)
    created: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    # False for the server's own warm-up: nobody's request, so not in vLLM's request metrics.
    observed: bool = True
    _cancelled: threading.Event = field(default_factory=threading.Event)
    _on_cancel: Callable[[GenerationHandle], None] | None = None

    @property
    def prompt_tokens(self) -> int:
        return len(self.prompt_ids)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop generating (the client went away); the slots free up at the next step."""
        if self._cancelled.is_set():
            return
        self._cancelled.set()
        if self._on_cancel is not None:
            self._on_cancel(self)

    async def events(self, timeout: float | None = None) -> AsyncIterator[Event]:
        """Events until every choice finished or an error; ``timeout`` bounds each wait."""
        remaining = self.params.n
        while remaining > 0:
            for event in await self.queue.get_batch(timeout):
                yield event
                if isinstance(event, ErrorEvent):
                    return
                if isinstance(event, FinishEvent):
                    remaining -= 1
