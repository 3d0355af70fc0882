"""Helpers for tests that run with both clients."""

from __future__ import annotations

import inspect
from typing import Any


async def final_of(stream: Any) -> Any:
    """``stream.final()``, awaited for an ``AsyncStream``."""
    result = stream.final()
    if inspect.isawaitable(result):
        result = await result
    return result
