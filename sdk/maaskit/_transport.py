"""The synchronous executor: runs a provider's requests on an ``httpx.Client`` under tenacity.

Everything that is not I/O (headers, retry decisions, backoff, error mapping) is in
``_call.Call``, shared with ``_async_transport``.

A call's first attempt runs outside tenacity: most calls succeed at once, and building and
driving a ``tenacity.Retrying`` was the largest part of maaskit's own per-call work (about a
third of its overhead over a bare httpx request on ``models()``). Only a failed first attempt
enters the retry loop, which takes that failure as its own attempt 1, so attempt numbers,
waits, the stop rule and the logging are tenacity's as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any, TypeVar

import httpx
import tenacity

from ._call import Call, as_http_response
from ._config import ClientConfig
from ._exceptions import APIError
from ._http import HttpRequest
from ._streaming import Stream
from ._tasks import Task
from .providers import StreamDecoder
from .types import Result

__all__ = ["SyncTransport"]

ResultT = TypeVar("ResultT", bound=Result)
ChunkT = TypeVar("ChunkT", bound=Result)
T = TypeVar("T")


class SyncTransport:
    def __init__(
        self,
        config: ClientConfig,
        http_client: httpx.Client,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.http_client = http_client
        self._sleep = sleep
        self._clock = clock

    def request(self, task: Task[Any, ResultT, Any], request: HttpRequest) -> ResultT:
        call = Call(self.config, request, what=task.name, clock=self._clock)
        try:
            return self._attempt(call, task, 1)
        except APIError as error:
            first_failure = error
        return self._retry(call, first_failure, lambda number: self._attempt(call, task, number))

    def _retry(self, call: Call, first_failure: APIError, run: Callable[[int], T]) -> T:
        """Attempts 2 and on of a call whose attempt 1 raised ``first_failure``."""
        for attempt in tenacity.Retrying(**call.retry_options(self._sleep)):
            with attempt:
                number = attempt.retry_state.attempt_number
                if number == 1:
                    raise first_failure
                return run(number)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _send(self, call: Call, number: int, *, stream: bool) -> httpx.Response:
        request = call.build(self.http_client, number)
        try:
            response = self.http_client.send(request, auth=call.auth, stream=stream)
        except httpx.HTTPError as exc:
            failure = call.transport_error(exc, number)
            call.report(request, number, error=failure)
            raise failure from exc
        if response.status_code >= 400:
            if stream:
                try:
                    response.read()
                finally:
                    response.close()
            error = call.status_error(as_http_response(response), number)
            call.report(request, number, response=response, error=error)
            raise error
        call.report(request, number, response=response)
        return response

    def _attempt(self, call: Call, task: Task[Any, ResultT, Any], number: int) -> ResultT:
        response = self._send(call, number, stream=False)
        try:
            return self.config.provider.parse_response(task, as_http_response(response))
        except APIError as error:
            call.complete_error(error, number)
            raise

    # -- streaming -------------------------------------------------------------------------

    def stream(self, task: Task[Any, Any, ChunkT], request: HttpRequest) -> Stream[ChunkT]:
        call = Call(self.config, request, what=task.name, streaming=True, clock=self._clock)
        try:
            return self._open(call, task, 1)
        except APIError as error:
            first_failure = error
        return self._retry(call, first_failure, lambda number: self._open(call, task, number))

    def _open(self, call: Call, task: Task[Any, Any, ChunkT], number: int) -> Stream[ChunkT]:
        decoder = self.config.provider.stream_decoder(task)
        response = self._send(call, number, stream=True)
        chunks = self._chunks(call, response, decoder, number)
        # Reading up to the first chunk inside the attempt is what makes a stream that fails
        # before any output retryable; after this point a failure is final.
        try:
            first = [next(chunks)]
        except StopIteration:
            first = []
        return Stream(first, chunks, response)

    def _chunks(
        self,
        call: Call,
        response: httpx.Response,
        decoder: StreamDecoder[ChunkT],
        number: int,
    ) -> Generator[ChunkT, None, None]:
        idle = self.config.timeout.stream_idle
        last_chunk = self._clock()
        try:
            for data in response.iter_bytes():
                chunks = decoder.feed(data)
                yield from chunks
                decoder.raise_deferred()
                if chunks:
                    last_chunk = self._clock()
                elif idle is not None and self._clock() - last_chunk > idle:
                    raise call.idle_timeout(number)
                if decoder.done:
                    return
            yield from decoder.close()
            decoder.raise_deferred()
        except APIError as error:
            call.complete_error(error, number)
            raise
        except httpx.HTTPError as exc:
            raise call.transport_error(exc, number) from exc
        finally:
            response.close()
