"""Typed streams: iterators that are also context managers and own their HTTP response.

Leaving a ``with`` block (or calling ``close()``) early closes the connection, so the server
stops generating. ``texts`` holds the text so far of each choice (``n=``), ``text`` that of the
first; ``final()`` reads the rest and returns the answer a plain call would have: one
``ChatResponse`` (or ``Completion``) with the text, tool calls joined from their pieces,
log-probabilities, finish reason and usage. An error after the first chunk is raised with
the text received so far in ``error.partial_text``. ``usage`` holds the token counts once a
chunk carried them (OpenAI's ``stream_options.include_usage``, which maaskit asks for on its
own to keep the ledger right; the usage-only chunk it did not ask for is not handed to the
caller).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from types import TracebackType
from typing import Any, Generic, TypeVar, cast, overload

import httpx
from pydantic import BaseModel

from ._accumulate import ChatAccumulator, CompletionAccumulator
from ._exceptions import APIError
from ._privacy import ChunkRestorer
from ._structured import parse_choices
from .types import (
    ChatChunk,
    ChatResponse,
    Completion,
    CompletionChunk,
    ResponseInfo,
    Result,
    Usage,
)

__all__ = ["AsyncStream", "AsyncStreamManager", "Stream", "StreamFinish"]

ChunkT = TypeVar("ChunkT", bound=Result)

StreamFinish = Callable[[Usage | None, "APIError | None"], None]
"""Called once when a stream ends: the usage seen and the error that ended it, if any."""


def _text_of(chunk: Result) -> str:
    text = getattr(chunk, "text", "")
    return text if isinstance(text, str) else ""


def _usage_of(chunk: Result) -> Usage | None:
    usage = getattr(chunk, "usage", None)
    return usage if isinstance(usage, Usage) else None


def is_usage_only(chunk: Result) -> bool:
    """OpenAI's final ``include_usage`` chunk: usage and an empty ``choices`` list."""
    raw = chunk.raw
    return _usage_of(chunk) is not None and isinstance(raw, dict) and raw.get("choices") == []


class _StreamState:
    """What both stream kinds track: text so far, usage, and the one-time finish report."""

    def __init__(
        self,
        finish: StreamFinish | None,
        hide_usage_chunks: bool,
        restorer: ChunkRestorer | None,
    ) -> None:
        self.texts: dict[int, str] = {}
        self.usage: Usage | None = None
        self.closed = False
        self.output_type: type[BaseModel] | None = None
        self._finish = finish
        self._hide_usage_chunks = hide_usage_chunks
        self._restorer = restorer
        self._chat = ChatAccumulator()
        self._completion = CompletionAccumulator()
        self._kind: type[Result] | None = None

    @property
    def text(self) -> str:
        return self.texts.get(min(self.texts), "") if self.texts else ""

    def _add(self, chunk: Result) -> None:
        index = getattr(chunk, "index", 0)
        text = _text_of(chunk)
        if text or index not in self.texts:
            self.texts[index] = self.texts.get(index, "") + text
        if isinstance(chunk, ChatChunk):
            self._kind = ChatChunk
            self._chat.add(chunk)
        elif isinstance(chunk, CompletionChunk):
            self._kind = CompletionChunk
            self._completion.add(chunk)

    def final(self, response: httpx.Response) -> Any:
        info = ResponseInfo(
            status_code=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
        )
        if self._kind is CompletionChunk:
            completion = self._completion.result(self.usage)
            completion.response = info
            return completion
        result = self._chat.result(self.usage)
        result.response = info
        if self._restorer is not None:
            self._restorer.restore_final(result)
        if self.output_type is not None:
            parse_choices(result, self.output_type)
        return result

    def take(self, chunk: ChunkT) -> ChunkT | None:
        """Account for a chunk; ``None`` when the caller should not see it. With masking on,
        the chunk handed out has its placeholders restored."""
        usage = _usage_of(chunk)
        if usage is not None:
            self.usage = usage
        if self._hide_usage_chunks and is_usage_only(chunk):
            return None
        if self._restorer is not None:
            chunk = self._restorer.chunk(chunk)
        self._add(chunk)
        return chunk

    def leftover(self) -> Result | None:
        """Restored text still held back when the stream ended, as one last chunk."""
        chunk = self._restorer.leftover() if self._restorer is not None else None
        if chunk is not None:
            self._add(chunk)
        return chunk

    def finish(self, error: APIError | None) -> None:
        finish, self._finish = self._finish, None
        if finish is not None:
            finish(self.usage, error)


class Stream(Generic[ChunkT]):
    def __init__(
        self,
        first: list[ChunkT],
        rest: Generator[ChunkT, None, None],
        response: httpx.Response,
        *,
        finish: StreamFinish | None = None,
        hide_usage_chunks: bool = False,
        restorer: ChunkRestorer | None = None,
    ) -> None:
        self._pending = list(first)
        self._rest = rest
        self.response = response
        self._state = _StreamState(finish, hide_usage_chunks, restorer)

    @property
    def text(self) -> str:
        """The text streamed so far (of the first choice)."""
        return self._state.text

    @property
    def texts(self) -> list[str]:
        """The text streamed so far of each choice, in ``index`` order (``n=2``: two)."""
        return [self._state.texts[i] for i in sorted(self._state.texts)]

    @property
    def usage(self) -> Usage | None:
        return self._state.usage

    @property
    def closed(self) -> bool:
        return self._state.closed

    @overload
    def final(self: Stream[ChatChunk]) -> ChatResponse: ...

    @overload
    def final(self: Stream[CompletionChunk]) -> Completion: ...

    def final(self) -> Any:
        """Read the rest of the stream and return the whole answer: a :class:`ChatResponse`
        (tool calls assembled, ``parsed`` set with a ``response_format=`` model) or a
        :class:`Completion`. After an early ``close()``, what had arrived."""
        for _ in self:
            pass
        return self._state.final(self.response)

    get_final_response = final

    def _expect_output(self, model: type[BaseModel] | None) -> None:
        self._state.output_type = model

    def __iter__(self) -> Stream[ChunkT]:
        return self

    def __next__(self) -> ChunkT:
        while True:
            if self._pending:
                chunk = self._pending.pop(0)
            else:
                try:
                    chunk = next(self._rest)
                except APIError as error:
                    error.partial_text = self.text
                    self._close(error)
                    raise
                except StopIteration:
                    last = self._state.leftover()
                    if last is not None:
                        return cast(ChunkT, last)
                    self.close()
                    raise
            taken = self._state.take(chunk)
            if taken is not None:
                return taken

    def _close(self, error: APIError | None) -> None:
        if not self._state.closed:
            self._state.closed = True
            try:
                self._rest.close()
                self.response.close()
            finally:
                self._state.finish(error)

    def close(self) -> None:
        self._close(None)

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
        *,
        finish: StreamFinish | None = None,
        hide_usage_chunks: bool = False,
        restorer: ChunkRestorer | None = None,
    ) -> None:
        self._pending = list(first)
        self._rest = rest
        self.response = response
        self._state = _StreamState(finish, hide_usage_chunks, restorer)

    @property
    def text(self) -> str:
        """The text streamed so far (of the first choice)."""
        return self._state.text

    @property
    def texts(self) -> list[str]:
        """The text streamed so far of each choice, in ``index`` order (``n=2``: two)."""
        return [self._state.texts[i] for i in sorted(self._state.texts)]

    @property
    def usage(self) -> Usage | None:
        return self._state.usage

    @property
    def closed(self) -> bool:
        return self._state.closed

    @overload
    async def final(self: AsyncStream[ChatChunk]) -> ChatResponse: ...

    @overload
    async def final(self: AsyncStream[CompletionChunk]) -> Completion: ...

    async def final(self) -> Any:
        """Read the rest of the stream and return the whole answer (as ``Stream.final``)."""
        async for _ in self:
            pass
        return self._state.final(self.response)

    get_final_response = final

    def _expect_output(self, model: type[BaseModel] | None) -> None:
        self._state.output_type = model

    def __aiter__(self) -> AsyncStream[ChunkT]:
        return self

    async def __anext__(self) -> ChunkT:
        while True:
            if self._pending:
                chunk = self._pending.pop(0)
            else:
                try:
                    chunk = await self._rest.__anext__()
                except APIError as error:
                    error.partial_text = self.text
                    await self._aclose(error)
                    raise
                except StopAsyncIteration:
                    last = self._state.leftover()
                    if last is not None:
                        return cast(ChunkT, last)
                    await self.aclose()
                    raise
            taken = self._state.take(chunk)
            if taken is not None:
                return taken

    async def _aclose(self, error: APIError | None) -> None:
        if not self._state.closed:
            self._state.closed = True
            try:
                await self._rest.aclose()
                await self.response.aclose()
            finally:
                self._state.finish(error)

    async def aclose(self) -> None:
        await self._aclose(None)

    async def __aenter__(self) -> AsyncStream[ChunkT]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncStreamManager(Generic[ChunkT]):
    """What ``AsyncClient.chat(..., stream=True)`` (and ``complete``) returns: ``await`` it
    for the :class:`AsyncStream`, or use it in ``async with``, which closes the stream (and
    its connection) when the block ends, as the official client's stream helpers do::

        async with client.chat(model=..., messages=..., stream=True) as stream:
            async for chunk in stream:
                ...

    Nothing is sent until it is awaited or entered.
    """

    def __init__(self, open_stream: Callable[[], Awaitable[AsyncStream[ChunkT]]]) -> None:
        self._open_stream = open_stream
        self._stream: AsyncStream[ChunkT] | None = None

    def __await__(self) -> Generator[Any, None, AsyncStream[ChunkT]]:
        return self._open_stream().__await__()

    async def __aenter__(self) -> AsyncStream[ChunkT]:
        self._stream = await self._open_stream()
        return self._stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stream is not None:
            await self._stream.aclose()
