"""Typed streams: iterators that are also context managers and own their HTTP response.

Leaving a ``with`` block (or calling ``close()``) early closes the connection, so the server
stops generating. An error after the first chunk is raised with the text received so far in
``error.partial_text``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from types import TracebackType
from typing import Generic, TypeVar

import httpx

from ._exceptions import APIError
from .types import Result

__all__ = ["AsyncStream", "Stream"]

ChunkT = TypeVar("ChunkT", bound=Result)


def _text_of(chunk: Result) -> str:
    text = getattr(chunk, "text", "")
    return text if isinstance(text, str) else ""


class Stream(Generic[ChunkT]):
    def __init__(
        self,
        first: list[ChunkT],
        rest: Generator[ChunkT, None, None],
        response: httpx.Response,
    ) -> None:
        self._pending = list(first)
        self._rest = rest
        self.response = response
        self.text = ""  # everything streamed so far
        self.closed = False

    def __iter__(self) -> Stream[ChunkT]:
        return self

    def __next__(self) -> ChunkT:
        if self._pending:
            chunk = self._pending.pop(0)
        else:
            try:
                chunk = next(self._rest)
            except APIError as error:
                error.partial_text = self.text
                self.close()
                raise
            except StopIteration:
                self.close()
                raise
        self.text += _text_of(chunk)
        return chunk

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._rest.close()
            self.response.close()

    def __enter__(self) -> Stream[ChunkT]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncStream(Generic[ChunkT]):
    def __init__(
        self,
        first: list[ChunkT],
        rest: AsyncGenerator[ChunkT, None],
        response: httpx.Response,
    ) -> None:
        self._pending = list(first)
        self._rest = rest
        self.response = response
        self.text = ""
        self.closed = False

    def __aiter__(self) -> AsyncStream[ChunkT]:
        return self

    async def __anext__(self) -> ChunkT:
        if self._pending:
            chunk = self._pending.pop(0)
        else:
            try:
                chunk = await self._rest.__anext__()
            except APIError as error:
                error.partial_text = self.text
                await self.aclose()
                raise
            except StopAsyncIteration:
                await self.aclose()
                raise
        self.text += _text_of(chunk)
        return chunk

    async def aclose(self) -> None:
        if not self.closed:
            self.closed = True
            await self._rest.aclose()
            await self.response.aclose()

    async def __aenter__(self) -> AsyncStream[ChunkT]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
