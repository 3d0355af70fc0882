"""Handing events from the engine thread to the event loop: batches, wake-ups, timeouts."""

from __future__ import annotations

import asyncio
import threading

import pytest
from maaskit_server.generation.events import (
    ErrorEvent,
    Event,
    EventQueue,
    FinishEvent,
    GenerationHandle,
    TokenEvent,
)
from maaskit_server.generation.mailbox import Mailbox
from maaskit_server.generation.params import SamplingParams
from maaskit_server.generation.sampling import SampledToken


def _handle(loop: asyncio.AbstractEventLoop) -> GenerationHandle:
    return GenerationHandle(prompt_ids=[1], params=SamplingParams(), max_new_tokens=8, loop=loop)


def _token(index: int, text: str) -> TokenEvent:
    return TokenEvent(index, text, SampledToken(token_id=1, logprob=0.0))


async def test_a_queue_hands_over_everything_waiting_in_one_batch() -> None:
    queue = EventQueue()
    events: list[Event] = [_token(0, "a"), _token(0, "b"), FinishEvent(0, "length", "", 2)]
    queue.put_many(events[:2])
    queue.put_nowait(events[2])
    assert queue.qsize() == 3
    assert await queue.get_batch(1.0) == events
    assert queue.empty()


async def test_a_waiting_reader_wakes_up_and_an_idle_one_times_out() -> None:
    queue = EventQueue()
    reader = asyncio.ensure_future(queue.get_batch(5.0))
    await asyncio.sleep(0)
    assert not reader.done()
    queue.put_nowait(ErrorEvent("boom"))
    assert await reader == [ErrorEvent("boom")]
    with pytest.raises(TimeoutError):
        await queue.get_batch(0.01)
    queue.put_nowait(_token(1, "x"))  # a timed-out wait leaves the queue usable
    assert await asyncio.wait_for(queue.get(), 1.0) == _token(1, "x")


async def test_steps_posted_before_the_loop_runs_arrive_with_one_wake_up() -> None:
    loop = asyncio.get_running_loop()
    first, second = _handle(loop), _handle(loop)
    mailbox = Mailbox(loop)
    wakeups = 0
    original = loop.call_soon_threadsafe

    def counting(*args: object) -> object:
        nonlocal wakeups
        wakeups += 1
        return original(*args)  # type: ignore[arg-type]

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign,assignment]
    try:
        # Three engine steps while the loop is busy elsewhere (this coroutine holds it).
        for step in range(3):
            posted = threading.Thread(
                target=mailbox.post,
                args=([(first, _token(0, str(step))), (second, _token(0, str(step)))],),
            )
            posted.start()
            posted.join()
        assert first.queue.empty()
        await asyncio.sleep(0)
    finally:
        del loop.call_soon_threadsafe
    assert wakeups == 1
    assert await first.queue.get_batch(0) == [_token(0, "0"), _token(0, "1"), _token(0, "2")]
    assert second.queue.qsize() == 3


async def test_posting_to_a_closed_loop_reports_it() -> None:
    other = asyncio.new_event_loop()
    handle = _handle(other)
    other.close()
    assert not Mailbox(other).post([(handle, _token(0, "lost"))])
