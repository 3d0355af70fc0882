"""Helpers shared by the provider tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

from ..conftest import TrackingStream


def sent_json(route: Any, index: int = 0) -> Any:
    """The JSON body of the ``index``-th request a respx route received."""
    return json.loads(route.calls[index].request.content)


def streamed(
    parts: list[bytes | Exception], content_type: str = "text/event-stream"
) -> httpx.Response:
    """A 200 answer whose body arrives in exactly these parts."""
    return httpx.Response(200, headers={"content-type": content_type}, stream=TrackingStream(parts))


def split_every(data: bytes, size: int) -> list[bytes | Exception]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def texts_until_error(is_async: bool, stream: Any) -> tuple[list[str], BaseException]:
    """Read a stream that must fail: the chunk texts it gave, then the error it raised."""
    texts: list[str] = []
    try:
        if is_async:
            async for chunk in stream:
                texts.append(chunk.text)
        else:
            for chunk in stream:
                texts.append(chunk.text)
    except Exception as error:
        return texts, error
    raise AssertionError(f"the stream ended without an error after {texts!r}")
