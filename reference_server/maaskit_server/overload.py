"""The one overload error: a model's queue cannot take this work now.

The encoder batcher and the generation scheduler both raise it; the app maps it to one answer,
429 with ``Retry-After`` and code ``queue_full``, in the shape of the protocol of the path.
"""

from __future__ import annotations


class QueueFullError(Exception):
    """The queue of ``model`` is full; retry after ``retry_after_s`` seconds."""

    def __init__(self, model: str | None = None, retry_after_s: int = 1) -> None:
        what = f"model {model!r}" if model else "the model"
        super().__init__(f"{what} is busy: its queue is full; retry shortly")
        self.model = model
        self.retry_after_s = retry_after_s
