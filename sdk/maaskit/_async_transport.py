"""The asynchronous executor: the same attempts as ``_transport`` on ``httpx.AsyncClient``s.

Only the I/O differs; decisions come from ``_call.Call``. As in ``_transport``, a call's first
attempt runs outside tenacity and only a failure enters the retry loop (as its attempt 1).

The connection pools are ``httpx.AsyncClient``s on httpx's own transport (httpcore) or, with
``http_transport="aiohttp"`` (the ``maaskit[aiohttp]`` extra), on aiohttp through
``httpx-aiohttp``, as the official openai client's ``DefaultAioHttpClient`` does: the same httpx
API, requests and responses, so nothing here changes, but aiohttp's connection pool and HTTP
parser cost far less CPU per call when many calls are in flight (``benchmarks/sdk_overhead.py``;
httpcore's pool bookkeeping grows with the number of waiting requests).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx
import tenacity
from pydantic import BaseModel

from ._call import Call, as_http_response
from ._call_options import CallOptions
from ._call_state import Core
from ._endpoint import Endpoint
from ._exceptions import APIError
from ._middleware import run_async_chain
from ._privacy import ChunkRestorer
from ._streaming import AsyncStream
from ._tasks import Task
from ._transport import _MAX_RECOVERY_WAITS
from .providers import StreamDecoder
from .types import Result, Usage

__all__ = ["HTTP_TRANSPORTS", "AsyncTransport", "async_http_client_factory"]

#: The values of ``AsyncClient(http_transport=...)``.
HTTP_TRANSPORTS = ("httpx", "aiohttp")

ResultT = TypeVar("ResultT", bound=Result)
ChunkT = TypeVar("ChunkT", bound=Result)
T = TypeVar("T")


def async_http_client_factory(http_transport: str) -> Callable[..., httpx.AsyncClient]:
    """What makes the connection pools of an ``AsyncClient`` on ``http_transport``."""
    if http_transport == "httpx":
        return httpx.AsyncClient
    if http_transport == "aiohttp":
        try:
            from ._aiohttp import aiohttp_client
        except ImportError as exc:
            raise ImportError(
                'http_transport="aiohttp" needs httpx-aiohttp: pip install "maaskit[aiohttp]"'
            ) from exc
        return aiohttp_client
    raise ValueError(
        f"unknown http_transport {http_transport!r}; known: {', '.join(HTTP_TRANSPORTS)}"
    )


class AsyncTransport:
    def __init__(
        self,
        core: Core,
        http_for: Callable[[Endpoint], httpx.AsyncClient],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.core = core
        self._http_for = http_for
        self._sleep = sleep

    async def _wait(self, seconds: float) -> None:
        # A failover to another endpoint waits 0 s: no need to hand that to sleep().
        if seconds > 0:
            await self._sleep(seconds)

    async def _start(self, call: Call) -> None:
        waits = 0
        while not call.plan.candidates:
            if call.plan.wait is None or waits == _MAX_RECOVERY_WAITS:
                raise call.no_endpoint()
            await self._sleep(call.plan.wait)
            waits += 1
            call.replan()
        call.check_budget()
        call.started()

    async def request(
        self,
        task: Task[Any, ResultT, Any],
        request: BaseModel,
        *,
        tags: Mapping[str, str] | None = None,
        per_call: CallOptions | None = None,
    ) -> ResultT:
        call = Call(self.core, task, request, tags=tags, per_call=per_call)
        await self._start(call)
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
        async for attempt in tenacity.AsyncRetrying(**call.retry_options(self._wait)):
            with attempt:
                number = attempt.retry_state.attempt_number
                if number == 1:
                    raise first_failure
                return await run(number)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _send(self, call: Call, number: int, *, stream: bool) -> httpx.Response:
        call.begin(number)
        assert call.current is not None
        http_client = self._http_for(call.current.endpoint)
        request = call.build(http_client, number)
        try:
            chain = call.middleware()
            if chain:
                response = await run_async_chain(
                    chain,
                    request,
                    call.attempt_info(number),
                    lambda sent: http_client.send(sent, auth=call.auth, stream=stream),
                )
            else:
                response = await http_client.send(request, auth=call.auth, stream=stream)
        except httpx.HTTPError as exc:
            failure = call.transport_error(exc, number)
            call.failed(failure)
            call.report(request, number, error=failure)
            raise failure from exc
        except BaseException:
            # Cancelled (a timeout around the call, a task group): the attempt is over.
            call.abandoned()
            raise
        if response.status_code >= 400:
            if stream:
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            error = call.status_error(as_http_response(response), number)
            call.failed(error)
            call.report(request, number, response=response, error=error)
            raise error
        call.report(request, number, response=response)
        return response

    async def _attempt(self, call: Call, task: Task[Any, ResultT, Any], number: int) -> ResultT:
        response = await self._send(call, number, stream=False)
        assert call.current is not None
        answer = as_http_response(response)
        try:
            result = call.current.endpoint.protocol.parse_response(task, answer)
        except APIError as error:
            call.complete_error(error, number)
            call.failed(error)
            raise
        call.answered(result, answer, number)
        call.succeeded(result)
        return result

    # -- streaming -------------------------------------------------------------------------

    async def stream(
        self,
        task: Task[Any, Any, ChunkT],
        request: BaseModel,
        *,
        tags: Mapping[str, str] | None = None,
        restorer: ChunkRestorer | None = None,
        per_call: CallOptions | None = None,
    ) -> AsyncStream[ChunkT]:
        call = Call(self.core, task, request, streaming=True, tags=tags, per_call=per_call)
        await self._start(call)
        try:
            return await self._open(call, task, 1, restorer)
        except APIError as error:
            first_failure = error
        return await self._retry(
            call, first_failure, lambda number: self._open(call, task, number, restorer)
        )

    async def _open(
        self,
        call: Call,
        task: Task[Any, Any, ChunkT],
        number: int,
        restorer: ChunkRestorer | None,
    ) -> AsyncStream[ChunkT]:
        response = await self._send(call, number, stream=True)
        assert call.current is not None
        decoder = call.current.endpoint.protocol.stream_decoder(task)
        chunks = self._chunks(call, response, decoder, number)
        # Reading up to the first chunk inside the attempt makes a stream that fails before
        # any output retryable; after this point a failure is final.
        try:
            first = [await chunks.__anext__()]
        except StopAsyncIteration:
            first = []
        except APIError as error:
            call.failed(error)
            raise
        except BaseException:
            call.abandoned()
            raise
        ttft = self.core.clock() - call.attempt_started
        call.succeeded(None, ttft=ttft)

        def finish(usage: Usage | None, error: APIError | None) -> None:
            call.stream_finished(usage, ttft, error)

        return AsyncStream(
            first,
            chunks,
            response,
            finish=finish,
            hide_usage_chunks=call.usage_injected,
            restorer=restorer,
        )

    async def _chunks(
        self,
        call: Call,
        response: httpx.Response,
        decoder: StreamDecoder[ChunkT],
        number: int,
    ) -> AsyncGenerator[ChunkT, None]:
        idle = call.options.timeout.stream_idle
        clock = self.core.clock
        last_chunk = clock()
        try:
            async for data in response.aiter_bytes():
                chunks = decoder.feed(data)
                for chunk in chunks:
                    yield chunk
                decoder.raise_deferred()
                if chunks:
                    last_chunk = clock()
                elif idle is not None and clock() - last_chunk > idle:
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
