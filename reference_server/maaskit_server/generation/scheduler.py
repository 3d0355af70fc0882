"""Admission control for continuous batching: a capped running set and a bounded waiting queue.

Thread-safe: requests are submitted and cancelled from the event loop while the engine thread
admits and retires them at step boundaries. Holds no model state, so it is tested on its own.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

from maaskit_server.generation.errors import QueueFullError

Item = TypeVar("Item", bound=Hashable)


class Scheduler(Generic[Item]):
    def __init__(self, max_running: int, max_waiting: int) -> None:
        if max_running < 1 or max_waiting < 0:
            raise ValueError("max_running must be >= 1 and max_waiting >= 0")
        self.max_running = max_running
        self.max_waiting = max_waiting
        self._waiting: deque[Item] = deque()
        self._running: list[Item] = []
        self._lock = threading.Lock()
        # Signalled whenever work arrives so that an idle engine thread wakes up.
        self.work_available = threading.Condition(self._lock)

    def submit(self, items: Sequence[Item]) -> None:
        """Queue all of ``items`` (the choices of one request) or none of them."""
        with self._lock:
            if len(self._waiting) + len(items) > self.max_waiting:
                raise QueueFullError()
            self._waiting.extend(items)
            self.work_available.notify_all()

    def admit(self) -> list[Item]:
        """Move waiting items into the running set, oldest first, up to ``max_running``."""
        with self._lock:
            admitted: list[Item] = []
            while self._waiting and len(self._running) < self.max_running:
                item = self._waiting.popleft()
                self._running.append(item)
                admitted.append(item)
            return admitted

    def retire(self, item: Item) -> None:
        """A running item finished or was cancelled: its slot is free for the next step."""
        with self._lock:
            if item in self._running:
                self._running.remove(item)

    def withdraw(self, item: Item) -> bool:
        """Drop a waiting item (its client went away); False if it is not waiting."""
        with self._lock:
            try:
                self._waiting.remove(item)
            except ValueError:
                return False
            return True

    def withdraw_matching(self, predicate: Callable[[Item], bool]) -> int:
        """Drop every waiting item for which ``predicate`` holds; returns how many."""
        with self._lock:
            kept = deque(item for item in self._waiting if not predicate(item))
            dropped = len(self._waiting) - len(kept)
            self._waiting = kept
            return dropped

    def wait_for_work(self, timeout: float) -> bool:
        """Block the engine thread until something is waiting or running (or ``timeout``)."""
        with self._lock:
            if self._waiting or self._running:
                return True
            return self.work_available.wait(timeout)

    def wake(self) -> None:
        with self._lock:
            self.work_available.notify_all()

    @property
    def running(self) -> list[Item]:
        with self._lock:
            return list(self._running)

    @property
    def waiting_count(self) -> int:
        with self._lock:
            return len(self._waiting)

    @property
    def running_count(self) -> int:
        with self._lock:
            return len(self._running)
