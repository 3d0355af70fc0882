"""The synchronous executor: runs a call's attempts on ``httpx.Client``s under tenacity.

Everything that is not I/O (choosing endpoints, headers, retry decisions, backoff, error
mapping, bookkeeping) is in ``_call.Call``, shared with ``_async_transport``.

A call's first attempt runs outside tenacity: most calls succeed at once, and building and
driving a ``tenacity.Retrying`` was the largest part of maaskit's own per-call work (about a
third of its overhead over a bare httpx request on ``models()``). Only a failed first attempt
enters the retry loop, which takes that failure as its own attempt 1, so attempt numbers,
waits, the stop rule and the logging are tenacity's as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from typing import Any, TypeVar

import httpx
import tenacity
from pydantic import BaseModel

from ._call import Call, as_http_response
from ._call_options import CallOptions
from ._call_state import Core
from ._endpoint import Endpoint
from ._exceptions import APIError
from ._middleware import run_chain
from ._privacy import ChunkRestorer
from ._streaming import Stream
from ._tasks import Task
from .providers import StreamDecoder
from .types import Result, Usage

__all__ = ["SyncTransport"]

ResultT = TypeVar("ResultT", bound=Result)
ChunkT = TypeVar("ChunkT", bound=Result)
T = TypeVar("T")

# Planning again after waiting for a breaker's retry time: a bound, so a clock that does not
# move (or an endpoint that reopens at once) cannot loop.
_MAX_RECOVERY_WAITS = 3


class SyncTransport:
    def __init__(
        self,
        core: Core,
        http_for: Callable[[Endpoint], httpx.Client],
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.core = core
        self._http_for = http_for
        self._sleep = sleep

    def _wait(self, seconds: float) -> None:
        # A failover to another endpoint waits 0 s: no need to hand that to sleep().
        if seconds > 0:
            self._sleep(seconds)

    def _start(self, call: Call) -> None:
        waits = 0
        while not call.plan.candidates:
            if call.plan.wait is None or waits == _MAX_RECOVERY_WAITS:
                raise call.no_endpoint()
            self._sleep(call.plan.wait)
            waits += 1
            call.replan()
        call.check_budget()
        call.started()

    def request(
        self,
        task: Task[Any, ResultT, Any],
        request: BaseModel,
        *,
        tags: Mapping[str, str] | None = None,
        per_call: CallOptions | None = None,
    ) -> ResultT:
        call = Call(self.core, task, request, tags=tags, per_call=per_call)
        self._start(call)
        try:
            return self._attempt(call, task, 1)
        except APIError as error:
            first_failure = error
        return self._retry(call, first_failure, lambda number: self._attempt(call, task, number))

    def _retry(self, call: Call, first_failure: APIError, run: Callable[[int], T]) -> T:
        """Attempts 2 and on of a call whose attempt 1 raised ``first_failure``."""
        for attempt in tenacity.Retrying(**call.retry_options(self._wait)):
            with attempt:
                number = attempt.retry_state.attempt_number
                if number == 1:
                    raise first_failure
                return run(number)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _send(self, call: Call, number: int, *, stream: bool) -> httpx.Response:
        call.begin(number)
        assert call.current is not None
        http_client = self._http_for(call.current.endpoint)
        request = call.build(http_client, number)
        try:
            chain = call.middleware()
            if chain:
                response = run_chain(
                    chain,
                    request,
                    call.attempt_info(number),
                    lambda sent: http_client.send(sent, auth=call.auth, stream=stream),
                )
            else:
                response = http_client.send(request, auth=call.auth, stream=stream)
        except httpx.HTTPError as exc:
            failure = call.transport_error(exc, number)
            call.failed(failure)
            call.report(request, number, error=failure)
            raise failure from exc
        except BaseException:
            call.abandoned()
            raise
        if response.status_code >= 400:
            if stream:
                try:
                    response.read()
                finally:
                    response.close()
            error = call.status_error(as_http_response(response), number)
            call.failed(error)
            call.report(request, number, response=response, error=error)
            raise error
        call.report(request, number, response=response)
        return response

    def _attempt(self, call: Call, task: Task[Any, ResultT, Any], number: int) -> ResultT:
        response = self._send(call, number, stream=False)
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

    def stream(
        self,
        task: Task[Any, Any, ChunkT],
        request: BaseModel,
        *,
        tags: Mapping[str, str] | None = None,
        restorer: ChunkRestorer | None = None,
        per_call: CallOptions | None = None,
    ) -> Stream[ChunkT]:
        call = Call(self.core, task, request, streaming=True, tags=tags, per_call=per_call)
        self._start(call)
        try:
            return self._open(call, task, 1, restorer)
        except APIError as error:
            first_failure = error
        return self._retry(
            call, first_failure, lambda number: self._open(call, task, number, restorer)
        )

    def _open(
        self,
        call: Call,
        task: Task[Any, Any, ChunkT],
        number: int,
        restorer: ChunkRestorer | None,
    ) -> Stream[ChunkT]:
        response = self._send(call, number, stream=True)
        assert call.current is not None
        decoder = call.current.endpoint.protocol.stream_decoder(task)
        chunks = self._chunks(call, response, decoder, number)
        # Reading up to the first chunk inside the attempt is what makes a stream that fails
        # before any output retryable; after this point a failure is final.
        try:
            first = [next(chunks)]
        except StopIteration:
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

        return Stream(
            first,
            chunks,
            response,
            finish=finish,
            hide_usage_chunks=call.usage_injected,
            restorer=restorer,
        )

    def _chunks(
        self,
        call: Call,
        response: httpx.Response,
        decoder: StreamDecoder[ChunkT],
        number: int,
    ) -> Generator[ChunkT, None, None]:
        idle = call.options.timeout.stream_idle
        clock = self.core.clock
        last_chunk = clock()
        try:
            for data in response.iter_bytes():
                chunks = decoder.feed(data)
                yield from chunks
                decoder.raise_deferred()
                if chunks:
                    last_chunk = clock()
                elif idle is not None and clock() - last_chunk > idle:
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
