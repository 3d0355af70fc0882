"""The asynchronous executor: the same attempts as ``_transport`` on an ``httpx.AsyncClient``.

Only the I/O differs; decisions come from ``_call.Call``. As in ``_transport``, a call's first
attempt runs outside tenacity and only a failure enters the retry loop (as its attempt 1).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import tenacity

from ._call import Call, as_http_response
from ._config import ClientConfig
from ._exceptions import APIError
from ._http import HttpRequest
from ._streaming import AsyncStream
from ._tasks import Task
from .providers import StreamDecoder
from .types import Result

__all__ = ["AsyncTransport"]

ResultT = TypeVar("ResultT", bound=Result)
ChunkT = TypeVar("ChunkT", bound=Result)
T = TypeVar("T")


class AsyncTransport:
    def __init__(
        self,
        config: ClientConfig,
        http_client: httpx.AsyncClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.http_client = http_client
        self._sleep = sleep
        self._clock = clock

    async def request(self, task: Task[Any, ResultT, Any], request: HttpRequest) -> ResultT:
        call = Call(self.config, request, what=task.name, clock=self._clock)
        try:
            return await self._attempt(call, task, 1)
        except APIError as error:
            first_failure = error
        return await self._retry(
            call, first_failure, lambda number: self._attempt(call, task, number)
        )

    async def _retry(
        self, call: Call, first_failure: APIError, run: Callable[[int], Awaitable[T]]
    ) -> T:
        """Attempts 2 and on of a call whose attempt 1 raised ``first_failure``."""
        async for attempt in tenacity.AsyncRetrying(**call.retry_options(self._sleep)):
            with attempt:
                number = attempt.retry_state.attempt_number
                if number == 1:
                    raise first_failure
                return await run(number)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _send(self, call: Call, number: int, *, stream: bool) -> httpx.Response:
        request = call.build(self.http_client, number)
        try:
            response = await self.http_client.send(request, auth=call.auth, stream=stream)
        except httpx.HTTPError as exc:
            failure = call.transport_error(exc, number)
            call.report(request, number, error=failure)
            raise failure from exc
        if response.status_code >= 400:
            if stream:
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            error = call.status_error(as_http_response(response), number)
            call.report(request, number, response=response, error=error)
            raise error
        call.report(request, number, response=response)
        return response

    async def _attempt(self, call: Call, task: Task[Any, ResultT, Any], number: int) -> ResultT:
        response = await self._send(call, number, stream=False)
        try:
            return self.config.provider.parse_response(task, as_http_response(response))
        except APIError as error:
            call.complete_error(error, number)
            raise

    # -- streaming -------------------------------------------------------------------------

    async def stream(
        self, task: Task[Any, Any, ChunkT], request: HttpRequest
    ) -> AsyncStream[ChunkT]:
        call = Call(self.config, request, what=task.name, streaming=True, clock=self._clock)
        try:
            return await self._open(call, task, 1)
        except APIError as error:
            first_failure = error
        return await self._retry(call, first_failure, lambda number: self._open(call, task, number))

    async def _open(
        self, call: Call, task: Task[Any, Any, ChunkT], number: int
    ) -> AsyncStream[ChunkT]:
        decoder = self.config.provider.stream_decoder(task)
        response = await self._send(call, number, stream=True)
        chunks = self._chunks(call, response, decoder, number)
        # Reading up to the first chunk inside the attempt makes a stream that fails before
        # any output retryable; after this point a failure is final.
        try:
            first = [await chunks.__anext__()]
        except StopAsyncIteration:
            first = []
        return AsyncStream(first, chunks, response)

    async def _chunks(
        self,
        call: Call,
        response: httpx.Response,
        decoder: StreamDecoder[ChunkT],
        number: int,
    ) -> AsyncGenerator[ChunkT, None]:
        idle = self.config.timeout.stream_idle
        last_chunk = self._clock()
        try:
            async for data in response.aiter_bytes():
                chunks = decoder.feed(data)
                for chunk in chunks:
                    yield chunk
                decoder.raise_deferred()
                if chunks:
                    last_chunk = self._clock()
                elif idle is not None and self._clock() - last_chunk > idle:
                    raise call.idle_timeout(number)
                if decoder.done:
                    return
            for chunk in decoder.close():
                yield chunk
            decoder.raise_deferred()
        except APIError as error:
            call.complete_error(error, number)
            raise
        except httpx.HTTPError as exc:
            raise call.transport_error(exc, number) from exc
        finally:
            await response.aclose()
