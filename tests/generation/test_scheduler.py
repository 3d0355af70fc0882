from __future__ import annotations

import threading

import pytest
from maaskit_server.generation.errors import QueueFullError
from maaskit_server.generation.scheduler import Scheduler


def test_admission_respects_the_running_cap_in_arrival_order() -> None:
    scheduler: Scheduler[str] = Scheduler(max_running=2, max_waiting=10)
    scheduler.submit(["a", "b", "c"])
    assert scheduler.admit() == ["a", "b"]
    assert scheduler.admit() == []
    assert scheduler.waiting_count == 1


def test_a_finished_sequence_leaves_and_a_waiting_one_joins() -> None:
    scheduler: Scheduler[str] = Scheduler(max_running=2, max_waiting=10)
    scheduler.submit(["a", "b", "c"])
    scheduler.admit()
    scheduler.retire("a")
    assert scheduler.admit() == ["c"]
    assert scheduler.running == ["b", "c"]


def test_a_full_queue_rejects_the_whole_request() -> None:
    scheduler: Scheduler[str] = Scheduler(max_running=1, max_waiting=2)
    scheduler.submit(["a"])
    with pytest.raises(QueueFullError) as caught:
        scheduler.submit(["b", "c"])  # n=2 does not fit beside "a": neither is queued
    assert caught.value.retry_after_s >= 1
    assert scheduler.waiting_count == 1
    scheduler.admit()  # "a" runs, the queue empties
    scheduler.submit(["b", "c"])
    assert scheduler.waiting_count == 2


def test_cancelled_waiting_items_leave_the_queue() -> None:
    scheduler: Scheduler[str] = Scheduler(max_running=1, max_waiting=5)
    scheduler.submit(["a", "b1", "b2", "c"])
    assert scheduler.withdraw("a")
    assert not scheduler.withdraw("zz")
    assert scheduler.withdraw_matching(lambda item: item.startswith("b")) == 2
    assert scheduler.admit() == ["c"]


def test_an_idle_engine_wakes_when_work_arrives() -> None:
    scheduler: Scheduler[str] = Scheduler(max_running=1, max_waiting=5)
    assert not scheduler.wait_for_work(0.01)
    woke = threading.Event()

    def engine() -> None:
        if scheduler.wait_for_work(5.0):
            woke.set()

    thread = threading.Thread(target=engine)
    thread.start()
    scheduler.submit(["a"])
    thread.join(5.0)
    assert woke.is_set()
