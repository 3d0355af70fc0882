"""What the engine thread sends back to the asyncio side, and the handle a caller awaits on."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
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


@dataclass(frozen=True)
class ErrorEvent:
    message: str


Event = TokenEvent | FinishEvent | ErrorEvent


@dataclass(eq=False)
class GenerationHandle:
    """A submitted request: ``n`` sequences sharing one prompt and one event queue."""

    prompt_ids: list[int]
    params: SamplingParams
    max_new_tokens: int
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)
    created: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
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
            event = await asyncio.wait_for(self.queue.get(), timeout)
            yield event
            if isinstance(event, ErrorEvent):
                return
            if isinstance(event, FinishEvent):
                remaining -= 1
