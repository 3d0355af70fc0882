"""Progress of the pipeline's long steps: silent by default, ``rich`` bars in the CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Advance = Callable[[int], None]


class Progress:
    """Silent progress: the base class, and what the Python API uses unless told otherwise."""

    @contextmanager
    def stage(self, description: str, total: int | None) -> Iterator[Advance]:
        """A step of ``total`` units (``None``: unknown); the block calls ``advance(n)``."""
        yield lambda n: None

    def note(self, message: str) -> None:
        """A one-line message between steps."""


class RichProgress(Progress):
    """One ``rich`` progress bar per step, on stderr; notes are printed above the bars."""

    def __init__(self, console: Any | None = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)

    @contextmanager
    def stage(self, description: str, total: int | None) -> Iterator[Advance]:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bars

        with Bars(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        ) as bars:
            task = bars.add_task(description, total=total)
            yield lambda n: bars.advance(task, n)
            if total is None:
                bars.update(task, total=1, completed=1)

    def note(self, message: str) -> None:
        self.console.print(message, highlight=False)
