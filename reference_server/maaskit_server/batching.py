"""Dynamic batching: concurrent requests for one model become one onnxruntime call.

Each input of a request is one item. A single worker task per model waits for the first item,
keeps collecting until ``max_batch_size`` items are pending or ``max_queue_delay`` has passed
(0 by default: an idle model runs what it has at once), then runs the batch in a thread pool
(onnxruntime releases the GIL, so the event loop keeps answering). While a batch runs, new items
queue up and form the next one. The queue is bounded: when it is full
:meth:`DynamicBatcher.submit` raises :class:`QueueFullError` at once (the routes answer 429 with
``Retry-After``) instead of letting latency grow without limit.

Lanes. With ``lanes=1`` one batch is in flight at a time and uses the whole machine. With
``lanes=N`` and a ``run_lane`` runner, a busy model runs up to N batches at once, each on its own
share of the cores (e.g. two single-threaded onnxruntime calls on two cores). On a small CPU that
is what Triton's ``instance_group`` does, and for the same reasons: a single-threaded call wastes
no time synchronising threads, and when the HTTP side takes a core for a moment only one lane
slows down, instead of every parallel section of one wide call waiting for its late thread. A
lone input on an idle model still runs wide (``run_batch``), which is what keeps its latency low.

Token budget. With ``max_batch_tokens`` (TEI's setting of that name) and a ``length_of``, a batch
is formed by what it costs, not by how many inputs it holds: every input of a batch is padded to
its longest, so a 250-token text batched with 63 short ones makes 64 x 250 tokens of work for
about 300 real ones (and attention grows with the square of the length). The oldest queued input
always goes into the next batch; it takes with it the queued inputs of its own length class
(lengths within a factor of sqrt(2), so padding adds at most ~41 %), oldest first, while the
padded size ``count x longest`` stays within the budget. Inputs of other lengths keep their
place for the next batch (the next free lane takes them at once), so none waits behind more than
the batches ahead of it, and a lone input still runs at once.

A runner may return an exception instance in place of one output: only that item fails (e.g. an
over-long input found while tokenizing the batch), the rest of the batch gets its results.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, TypeVar

from . import metrics
from .overload import QueueFullError as QueueFullError  # raised by submit

InputT = TypeVar("InputT")
OutputT = TypeVar("OutputT")

RunBatch = Callable[[Sequence[InputT]], Sequence[OutputT]]


@dataclass(frozen=True)
class BatcherLimits:
    max_batch_size: int = 32
    max_queue_delay_s: float = 0.0
    max_queue_size: int = 4096
    bucket_by_length: bool = False
    # Batches in flight at once when the model is busy (needs a ``run_lane`` runner).
    lanes: int = 1
    # Padded tokens (inputs x longest input) one batch may hold; None: count inputs only.
    max_batch_tokens: int | None = None


def length_class(length: int) -> int:
    """Lengths within a factor of sqrt(2) share a class (1, 2, 3, 4-5, 6-7, 8-11, 12-15, ...)."""
    return math.floor(2 * math.log2(max(1, length)))


@dataclass(eq=False)  # identity: items sit in a set while they run
class _Item(Generic[InputT, OutputT]):
    value: InputT
    future: asyncio.Future[OutputT]


class DynamicBatcher(Generic[InputT, OutputT]):
    def __init__(
        self,
        name: str,
        run_batch: Callable[[Sequence[InputT]], Sequence[OutputT]],
        *,
        executor: Executor,
        limits: BatcherLimits,
        length_of: Callable[[InputT], int] | None = None,
        run_lane: Callable[[Sequence[InputT]], Sequence[OutputT]] | None = None,
    ) -> None:
        if limits.lanes > 1 and run_lane is None:
            raise ValueError("lanes > 1 needs a run_lane runner")
        self.name = name
        self._run_batch = run_batch
        self._run_lane = run_lane
        self._executor = executor
        self.limits = limits
        self._length_of = length_of
        self._queue: deque[_Item[InputT, OutputT]] = deque()
        self._item_added = asyncio.Event()
        self._lane_freed = asyncio.Event()
        self._lane_runs: set[asyncio.Task[None]] = set()
        self._in_flight: set[_Item[InputT, OutputT]] = set()
        self._worker: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    async def submit(self, values: Sequence[InputT]) -> list[OutputT]:
        """Queue ``values`` and wait for their outputs, in order."""
        if self._closed:
            raise RuntimeError(f"batcher {self.name!r} is closed")
        if len(self._queue) + len(values) > self.limits.max_queue_size:
            raise QueueFullError(self.name)
        loop = asyncio.get_running_loop()
        if self._worker is None:
            self._worker = loop.create_task(self._work(), name=f"batcher-{self.name}")
        items = [_Item[InputT, OutputT](value, loop.create_future()) for value in values]
        self._queue.extend(items)
        metrics.QUEUE_DEPTH.labels(model=self.name).set(len(self._queue))
        self._item_added.set()
        results = await asyncio.gather(*(item.future for item in items), return_exceptions=True)
        # Every failure is retrieved; the one raised is the first in input order.
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return list(results)  # type: ignore[arg-type]

    async def close(self) -> None:
        self._closed = True
        # Taken before cancelling: a cancelled run forgets its items as it unwinds.
        stranded = [*self._queue, *self._in_flight]
        for task in [*self._lane_runs, *([self._worker] if self._worker else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for item in stranded:
            if not item.future.done():
                item.future.set_exception(RuntimeError(f"model {self.name!r} was unloaded"))
        self._queue.clear()
        self._in_flight.clear()

    async def _work(self) -> None:
        while True:
            await self._wait_for_batch()
            if self.limits.lanes == 1:
                batch = self._take_batch(self.limits.max_batch_size)
                if batch:
                    await self._run(batch, self._run_batch)
                continue
            while len(self._lane_runs) >= self.limits.lanes:
                self._lane_freed.clear()
                await self._lane_freed.wait()
            if not self._lane_runs and len(self._queue) == 1:
                # A lone input on an idle model: all cores on it, for the lowest latency.
                lone = self._take_batch(1)
                if lone:
                    await self._run(lone, self._run_batch)
                continue
            # Busy: share what is queued among the free lanes, so no lane idles while another
            # holds a full batch.
            free = self.limits.lanes - len(self._lane_runs)
            size = min(self.limits.max_batch_size, -(-len(self._queue) // free))
            batch = self._take_batch(size)
            if batch:
                self._start_lane(batch)

    def _start_lane(self, batch: list[_Item[InputT, OutputT]]) -> None:
        assert self._run_lane is not None
        task = asyncio.get_running_loop().create_task(self._run(batch, self._run_lane))
        self._lane_runs.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._lane_runs.discard(done)
            self._lane_freed.set()

        task.add_done_callback(finished)

    async def _wait_for_batch(self) -> None:
        while not self._queue:
            self._item_added.clear()
            await self._item_added.wait()
        deadline = time.monotonic() + self.limits.max_queue_delay_s
        while len(self._queue) < self.limits.max_batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._item_added.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._item_added.wait(), remaining)

    def _take_batch(self, size: int) -> list[_Item[InputT, OutputT]]:
        if self.limits.max_batch_tokens is not None and self._length_of is not None:
            return self._take_by_tokens(size, self.limits.max_batch_tokens, self._length_of)
        batch: list[_Item[InputT, OutputT]] = []
        while self._queue and len(batch) < size:
            item = self._queue.popleft()
            # A client that went away cancelled its futures: do not spend compute on them.
            if not item.future.done():
                batch.append(item)
        metrics.QUEUE_DEPTH.labels(model=self.name).set(len(self._queue))
        return batch

    def _take_by_tokens(
        self, size: int, budget: int, length_of: Callable[[InputT], int]
    ) -> list[_Item[InputT, OutputT]]:
        """The oldest live item and the queued items of its length class, within ``budget``."""
        while self._queue and self._queue[0].future.done():
            self._queue.popleft()  # cancelled by a client that went away
        if not self._queue:
            return []
        head = self._queue.popleft()
        batch, longest = [head], length_of(head.value)
        wanted = length_class(longest)
        kept: deque[_Item[InputT, OutputT]] = deque()
        while self._queue and len(batch) < size:
            item = self._queue.popleft()
            if item.future.done():
                continue
            length = length_of(item.value)
            if length_class(length) != wanted:
                kept.append(item)
                continue
            if (len(batch) + 1) * max(longest, length) > budget:
                kept.append(item)
                break
            batch.append(item)
            longest = max(longest, length)
        kept.extend(self._queue)
        self._queue = kept
        metrics.QUEUE_DEPTH.labels(model=self.name).set(len(self._queue))
        return batch

    async def _run(
        self,
        batch: list[_Item[InputT, OutputT]],
        runner: Callable[[Sequence[InputT]], Sequence[OutputT]],
    ) -> None:
        loop = asyncio.get_running_loop()
        values = [item.value for item in batch]
        self._in_flight.update(batch)
        try:
            outputs = await loop.run_in_executor(self._executor, self._run_groups, runner, values)
        except Exception as exc:
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        finally:
            self._in_flight.difference_update(batch)
        for item, output in zip(batch, outputs, strict=True):
            if item.future.done():
                continue
            if isinstance(output, BaseException):
                item.future.set_exception(output)
            else:
                item.future.set_result(output)

    def _run_groups(
        self, runner: Callable[[Sequence[InputT]], Sequence[OutputT]], values: list[InputT]
    ) -> list[OutputT]:
        """Run in a worker thread: one onnxruntime call per length bucket (or one in all)."""
        groups = self._groups(values)
        outputs: list[OutputT | None] = [None] * len(values)
        for group in groups:
            started = time.perf_counter()
            results = runner([values[i] for i in group])
            if len(results) != len(group):
                raise RuntimeError(f"runtime returned {len(results)} outputs for {len(group)}")
            metrics.BATCH_SIZE.labels(model=self.name).observe(len(group))
            metrics.INFERENCE_LATENCY.labels(model=self.name).observe(time.perf_counter() - started)
            for index, result in zip(group, results, strict=True):
                outputs[index] = result
        return outputs  # type: ignore[return-value]

    def _groups(self, values: list[InputT]) -> list[list[int]]:
        if not self.limits.bucket_by_length or self._length_of is None:
            return [list(range(len(values)))]
        buckets: dict[int, list[int]] = {}
        for index, value in enumerate(values):
            # Power-of-two buckets: inside one, padding at most doubles the work.
            buckets.setdefault(max(1, self._length_of(value)).bit_length(), []).append(index)
        return [buckets[key] for key in sorted(buckets)]
