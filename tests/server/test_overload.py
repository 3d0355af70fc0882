"""One overload error for the whole server, mapped to 429 in one place (app.py)."""

from __future__ import annotations

from maaskit_server import batching, overload
from maaskit_server.generation import errors


def test_the_batcher_and_the_generation_scheduler_raise_the_same_error() -> None:
    assert batching.QueueFullError is overload.QueueFullError
    assert errors.QueueFullError is overload.QueueFullError
    error = overload.QueueFullError("sentiment", retry_after_s=2)
    assert str(error) == "model 'sentiment' is busy: its queue is full; retry shortly"
    assert error.retry_after_s == 2
