"""Shared fixtures: every transport test runs once with ``Client`` and once with ``AsyncClient``.

``Harness`` hides the difference: ``await h.call(client.chat, ...)`` works for both, retry
sleeps are recorded instead of slept (the suite stays fast, the delays stay checkable).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpx
import maaskit
import pytest
import pytest_asyncio

BASE_URL = "http://maas.test/v1"
SECRET = "sk-test-SECRET-4f2a9c"


def chat_body(text: str = "hello", finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }


def sse(*events: str) -> bytes:
    return b"".join(f"data: {event}\n\n".encode() for event in events)


def chunk_event(text: str, finish_reason: str | None = None) -> str:
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": finish_reason}
    return json.dumps({"id": "c", "model": "m", "choices": [choice]})


class TrackingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body given as parts; a part that is an exception is raised at that point.
    Records whether the body was closed, which is how the tests see a connection released."""

    def __init__(self, parts: Iterable[bytes | Exception]) -> None:
        self.parts = list(parts)
        self.closed = False
        self.parts_read = 0

    def __iter__(self) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, Exception):
                raise part
            self.parts_read += 1
            yield part

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            if isinstance(part, Exception):
                raise part
            self.parts_read += 1
            yield part

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


class Harness:
    def __init__(self, is_async: bool) -> None:
        self.is_async = is_async
        self.sleeps: list[float] = []
        self._clients: list[Any] = []

    def client(self, **options: Any) -> Any:
        options.setdefault("base_url", BASE_URL)
        options.setdefault("api_key", SECRET)
        # Deterministic jitter: the full backoff ceiling, so delays can be asserted exactly.
        options.setdefault("retry_policy", maaskit.RetryPolicy(jitter=lambda: 1.0))
        if self.is_async:

            async def record(delay: float) -> None:
                self.sleeps.append(delay)

            client: Any = maaskit.AsyncClient(sleep=record, **options)
        else:
            client = maaskit.Client(sleep=self.sleeps.append, **options)
        self._clients.append(client)
        return client

    async def call(self, method: Any, /, **kwargs: Any) -> Any:
        result = method(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def collect(self, stream: Any) -> list[Any]:
        if self.is_async:
            return [chunk async for chunk in stream]
        return list(stream)

    async def close(self) -> None:
        for client in self._clients:
            if self.is_async:
                await client.aclose()
            else:
                client.close()


@pytest_asyncio.fixture(params=["sync", "async"], loop_scope="function")
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    h = Harness(is_async=request.param == "async")
    yield h
    await h.close()
