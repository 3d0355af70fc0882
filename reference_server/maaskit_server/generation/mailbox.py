"""Handing events from the engine thread to an asyncio event loop, a step's worth at a time.

Waking a loop from another thread (``call_soon_threadsafe``) costs a syscall and, with the
default loop, a hand-over of the GIL. A mailbox asks for one wake-up per delivery and none while
the previous one is still queued: a loop that fell behind then takes several steps' events in
one go, and each request gets them as one batch.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from maaskit_server.generation.events import Event, GenerationHandle


class Mailbox:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._items: list[tuple[GenerationHandle, Event]] = []
        self._scheduled = False

    def post(self, items: Sequence[tuple[GenerationHandle, Event]]) -> bool:
        """Called by the engine thread; False when the loop is closed (the items are dropped)."""
        with self._lock:
            self._items.extend(items)
            if self._scheduled:
                return True
            self._scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._deliver)
        except RuntimeError:
            with self._lock:
                self._items.clear()
                self._scheduled = False
            return False
        return True

    def _deliver(self) -> None:
        with self._lock:
            items, self._items = self._items, []
            self._scheduled = False
        by_handle: dict[GenerationHandle, list[Event]] = {}
        for handle, event in items:
            events = by_handle.get(handle)
            if events is None:
                events = by_handle[handle] = []
            events.append(event)
        for handle, events in by_handle.items():
            handle.queue.put_many(events)
