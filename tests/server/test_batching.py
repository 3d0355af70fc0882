"""Mechanics of the dynamic batcher, with a recording runner (no model: this is the queue)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from maaskit_server.batching import BatcherLimits, DynamicBatcher, QueueFullError, length_class


class RecordingRunner:
    """Doubles its inputs and records the size of every call it receives."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls: list[list[int]] = []
        self.gate = gate

    def __call__(self, batch: Sequence[int]) -> list[int]:
        if self.gate is not None:
            assert self.gate.wait(10), "test gate never opened"
        self.calls.append(list(batch))
        return [value * 2 for value in batch]


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as pool:
        yield pool


def make(
    runner: RecordingRunner, executor: ThreadPoolExecutor, **limits: Any
) -> DynamicBatcher[int, int]:
    options: dict[str, Any] = {"max_batch_size": 8, "max_queue_delay_s": 0.05, **limits}
    return DynamicBatcher(
        "test-model", runner, executor=executor, limits=BatcherLimits(**options), length_of=abs
    )


async def test_concurrent_submits_share_one_call(executor: ThreadPoolExecutor) -> None:
    runner = RecordingRunner()
    batcher = make(runner, executor)
    results = await asyncio.gather(*(batcher.submit([i]) for i in range(5)))
    await batcher.close()
    assert results == [[0], [2], [4], [6], [8]]
    assert runner.calls == [[0, 1, 2, 3, 4]]


async def test_batches_never_exceed_max_batch_size(executor: ThreadPoolExecutor) -> None:
    runner = RecordingRunner()
    batcher = make(runner, executor, max_batch_size=4)
    results = await batcher.submit(list(range(10)))
    await batcher.close()
    assert results == [value * 2 for value in range(10)]
    assert [len(call) for call in runner.calls] == [4, 4, 2]


async def test_full_queue_rejects_at_once(executor: ThreadPoolExecutor) -> None:
    gate = threading.Event()
    runner = RecordingRunner(gate)
    batcher = make(runner, executor, max_batch_size=2, max_queue_size=4)
    first = asyncio.create_task(batcher.submit([1, 2]))  # taken by the worker, held at the gate
    for _ in range(100):
        await asyncio.sleep(0.01)
        if batcher.queue_depth == 0 and runner.calls == [] and first.done() is False:
            break
    queued = asyncio.create_task(batcher.submit([3, 4, 5, 6]))
    await asyncio.sleep(0)
    with pytest.raises(QueueFullError):
        await batcher.submit([7])
    gate.set()
    assert await first == [2, 4]
    assert await queued == [6, 8, 10, 12]
    await batcher.close()


async def test_runner_error_reaches_every_caller_and_batcher_survives(
    executor: ThreadPoolExecutor,
) -> None:
    def failing(batch: Sequence[int]) -> list[int]:
        if 13 in batch:
            raise ValueError("unlucky")
        return list(batch)

    batcher: DynamicBatcher[int, int] = DynamicBatcher(
        "failing", failing, executor=executor, limits=BatcherLimits(max_queue_delay_s=0.05)
    )
    outcomes = await asyncio.gather(
        batcher.submit([13]), batcher.submit([1]), return_exceptions=True
    )
    assert all(isinstance(outcome, ValueError) for outcome in outcomes)
    assert await batcher.submit([5]) == [5]
    await batcher.close()


async def test_cancelled_request_is_not_computed(executor: ThreadPoolExecutor) -> None:
    gate = threading.Event()
    runner = RecordingRunner(gate)
    batcher = make(runner, executor, max_batch_size=1, max_queue_delay_s=0.0)
    first = asyncio.create_task(batcher.submit([1]))
    await asyncio.sleep(0.05)
    abandoned = asyncio.create_task(batcher.submit([99]))
    await asyncio.sleep(0.01)
    abandoned.cancel()
    gate.set()
    assert await first == [2]
    assert await batcher.submit([3]) == [6]
    await batcher.close()
    assert [99] not in runner.calls


async def test_length_buckets_split_one_batch_by_size(executor: ThreadPoolExecutor) -> None:
    runner = RecordingRunner()
    batcher = make(runner, executor, bucket_by_length=True)
    results = await asyncio.gather(*(batcher.submit([v]) for v in (3, 100, 2, 120)))
    await batcher.close()
    assert results == [[6], [200], [4], [240]]
    assert sorted(map(sorted, runner.calls)) == [[2, 3], [100, 120]]


async def test_an_exception_returned_for_one_item_fails_only_that_item(
    executor: ThreadPoolExecutor,
) -> None:
    def runner(batch: Sequence[int]) -> list[int | ValueError]:
        return [ValueError(f"bad {value}") if value < 0 else value * 2 for value in batch]

    batcher: DynamicBatcher[int, int | ValueError] = DynamicBatcher(
        "test-model", runner, executor=executor, limits=BatcherLimits(max_batch_size=8)
    )
    outcomes = await asyncio.gather(
        batcher.submit([1, 2]), batcher.submit([3, -4, -5]), return_exceptions=True
    )
    await batcher.close()
    assert outcomes[0] == [2, 4]
    # The request's first failing input (in input order) is the one raised.
    assert isinstance(outcomes[1], ValueError)
    assert str(outcomes[1]) == "bad -4"


async def test_without_a_queue_delay_inputs_arriving_during_a_run_form_the_next_batch(
    executor: ThreadPoolExecutor,
) -> None:
    # The default (no delay) must still batch under load: a lone input runs at once, and what
    # arrives while it runs is merged into one call rather than run one by one.
    assert BatcherLimits().max_queue_delay_s == 0.0
    gate = threading.Event()
    started = threading.Event()

    class SignallingRunner(RecordingRunner):
        def __call__(self, batch: Sequence[int]) -> list[int]:
            started.set()
            return super().__call__(batch)

    runner = SignallingRunner(gate)
    batcher = make(runner, executor, max_queue_delay_s=0.0)
    first = asyncio.create_task(batcher.submit([0]))
    for _ in range(500):
        if started.is_set():
            break
        await asyncio.sleep(0.01)
    assert started.is_set(), "the lone input was never run"
    later = [asyncio.create_task(batcher.submit([value])) for value in (1, 2, 3)]
    await asyncio.sleep(0.05)  # let the three reach the queue while the first call is held
    gate.set()
    assert await first == [0]
    assert [await task for task in later] == [[2], [4], [6]]
    await batcher.close()
    assert runner.calls == [[0], [1, 2, 3]]


class LaneRunner(RecordingRunner):
    """A lane runner whose calls must overlap: each waits at a barrier for the other."""

    def __init__(self, lanes: int) -> None:
        super().__init__()
        self.barrier = threading.Barrier(lanes, timeout=10)

    def __call__(self, batch: Sequence[int]) -> list[int]:
        self.barrier.wait()  # raises BrokenBarrierError unless `lanes` calls run at once
        return super().__call__(batch)


def make_laned(
    wide: RecordingRunner, lane: RecordingRunner, executor: ThreadPoolExecutor, lanes: int = 2
) -> DynamicBatcher[int, int]:
    return DynamicBatcher(
        "test-model",
        wide,
        run_lane=lane,
        executor=executor,
        limits=BatcherLimits(max_batch_size=8, lanes=lanes),
    )


async def test_a_busy_model_shares_its_queue_among_lanes_running_at_once(
    executor: ThreadPoolExecutor,
) -> None:
    wide = RecordingRunner()
    lanes = LaneRunner(2)
    batcher = make_laned(wide, lanes, executor)
    results = await batcher.submit(list(range(6)))
    await batcher.close()
    assert results == [value * 2 for value in range(6)]
    assert wide.calls == []
    assert sorted(lanes.calls) == [[0, 1, 2], [3, 4, 5]]


async def test_a_lone_input_on_an_idle_model_runs_on_the_whole_machine(
    executor: ThreadPoolExecutor,
) -> None:
    wide = RecordingRunner()
    lanes = RecordingRunner()
    batcher = make_laned(wide, lanes, executor)
    assert await batcher.submit([5]) == [10]
    assert await batcher.submit([6]) == [12]
    await batcher.close()
    assert (wide.calls, lanes.calls) == ([[5], [6]], [])


@pytest.mark.parametrize("lanes", [1, 2])
async def test_closing_fails_inputs_that_are_running(
    executor: ThreadPoolExecutor, lanes: int
) -> None:
    gate = threading.Event()
    batcher = make_laned(RecordingRunner(gate), RecordingRunner(gate), executor, lanes)
    pending = asyncio.create_task(batcher.submit([1, 2]))
    await asyncio.sleep(0.05)
    await batcher.close()
    gate.set()
    with pytest.raises(RuntimeError, match="unloaded"):
        await pending


def test_lanes_need_a_lane_runner(executor: ThreadPoolExecutor) -> None:
    with pytest.raises(ValueError, match="run_lane"):
        DynamicBatcher(
            "test-model", RecordingRunner(), executor=executor, limits=BatcherLimits(lanes=2)
        )


def padded_tokens(calls: list[list[int]]) -> int:
    """Tokens a runner computes for these calls: every input padded to its call's longest."""
    return sum(len(call) * max(call) for call in calls)


async def test_a_token_budget_keeps_short_inputs_apart_from_long_ones(
    executor: ThreadPoolExecutor,
) -> None:
    # Lengths are the values (length_of=abs): a mix of 5-250-token inputs, as in the benchmark.
    mixed = [250, 9, 240, 10, 8, 150, 11, 230]
    unbudgeted = RecordingRunner()
    plain = make(unbudgeted, executor)
    await plain.submit(mixed)
    await plain.close()
    runner = RecordingRunner()
    batcher = make(runner, executor, max_batch_tokens=4096)
    assert await batcher.submit(mixed) == [value * 2 for value in mixed]
    await batcher.close()
    assert unbudgeted.calls == [mixed]
    assert padded_tokens(unbudgeted.calls) == 8 * 250
    assert runner.calls == [[250, 240, 230], [9, 10, 8, 11], [150]]
    assert padded_tokens(runner.calls) == 3 * 250 + 4 * 11 + 150
    assert padded_tokens(runner.calls) <= 1.1 * sum(mixed)


async def test_a_token_budget_bounds_padded_tokens_per_batch(
    executor: ThreadPoolExecutor,
) -> None:
    runner = RecordingRunner()
    batcher = make(runner, executor, max_batch_tokens=400)
    await batcher.submit([100] * 10)
    await batcher.close()
    assert [len(call) for call in runner.calls] == [4, 4, 2]
    assert max(len(call) * max(call) for call in runner.calls) <= 400


async def test_under_a_token_budget_the_oldest_input_always_runs_next(
    executor: ThreadPoolExecutor,
) -> None:
    runner = RecordingRunner()
    batcher = make(runner, executor, max_batch_size=2, max_batch_tokens=4096)
    await batcher.submit([100, 8, 110, 9, 105])
    await batcher.close()
    # 100 (oldest) takes 110; then 8, the oldest left, takes 9; 105 waited for no later input.
    assert runner.calls == [[100, 110], [8, 9], [105]]


async def test_a_lone_input_longer_than_the_token_budget_still_runs(
    executor: ThreadPoolExecutor,
) -> None:
    runner = RecordingRunner()
    batcher = make(runner, executor, max_queue_delay_s=0.0, max_batch_tokens=64)
    assert await batcher.submit([250]) == [500]
    assert await batcher.submit([250, 250]) == [500, 500]
    await batcher.close()
    assert runner.calls == [[250], [250], [250]]


@pytest.mark.parametrize(
    ("length", "cls"), [(1, 0), (2, 2), (3, 3), (4, 4), (5, 4), (6, 5), (8, 6), (11, 6), (12, 7)]
)
def test_length_classes_span_a_factor_of_sqrt_two(length: int, cls: int) -> None:
    assert length_class(length) == cls
