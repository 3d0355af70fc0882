"""What a call tells others of its attempts: the router (breakers, latency, in flight), the
ledger (tokens, cost, time), the ``on_attempt`` hook and the debug log, and the call's own
history of failed attempts (on every error it raises).

``CallRecords`` is a layer of ``Call`` rather than an object it holds: the transports call
these on every attempt, and a method found on a base class costs the same as one on ``Call``.
"""

from __future__ import annotations

import logging

import httpx

from ._call_state import CallState
from ._exceptions import APIError, APIStatusError, AttemptFailure
from ._failures import speaks_of_health
from ._hooks import AttemptEvent
from ._http import HttpResponse
from ._ledger import Charge
from ._logging import logger, redact_headers
from ._model_fields import field_of
from .types import ResponseInfo, Result, Usage

__all__ = ["CallRecords"]

_NOTHING = Charge()


class CallRecords(CallState):
    """The bookkeeping of a call's attempts (``Call`` adds the choices and the retry rules)."""

    def report(
        self,
        request: httpx.Request,
        attempt: int,
        response: httpx.Response | None = None,
        error: APIError | None = None,
    ) -> None:
        # Redacting the sent headers costs a few microseconds per attempt: only when the line
        # will be written.
        if logger.isEnabledFor(logging.DEBUG):
            # The response's request is the one sent, with the auth flow's headers on it.
            sent = response.request if response is not None else request
            logger.debug(
                "maaskit %s attempt %d -> %s headers=%s",
                self.endpoint,
                attempt,
                error if error is not None else response.status_code if response else "?",
                redact_headers(sent.headers),
            )
        hook = self.options.on_attempt
        if hook is not None:
            name = self.current.endpoint.name if self.current is not None else None
            hook(
                AttemptEvent(
                    request=request,
                    attempt=attempt,
                    response=response,
                    error=error,
                    endpoint=name,
                )
            )

    # -- bookkeeping -------------------------------------------------------------------------

    def charge(self, usage: Usage | None) -> Charge:
        """What the answer cost; fills ``usage.cost`` where the endpoint has a price."""
        assert self.current is not None
        price = self.current.endpoint.price
        if usage is None:
            return _NOTHING if price is None else Charge(cost=price.per_request)
        cached = usage.cached_tokens
        details = usage.completion_tokens_details
        cost = 0.0
        if price is not None:
            cost = price.cost(usage.prompt_tokens, usage.completion_tokens, cached)
            usage.cost = cost
        return Charge(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=cached,
            reasoning_tokens=details.reasoning_tokens if details is not None else 0,
            cost=cost,
        )

    def answered(self, result: Result, response: HttpResponse, attempt: int) -> None:
        """Keep the answer's HTTP side on the result (``result.response``)."""
        assert self.current is not None
        result.response = ResponseInfo(
            status_code=response.status_code,
            headers=response.headers,
            endpoint=self.current.endpoint.name,
            attempts=attempt,
        )

    def succeeded(self, result: Result | None, *, ttft: float | None = None) -> None:
        """A non-streamed answer arrived (or, with ``result=None``, a stream's first chunk:
        the stream's own close records the tokens)."""
        assert self.current is not None
        name = self.current.endpoint.name
        elapsed = self._clock() - self.attempt_started
        if result is None:
            self.core.router.succeeded(name, elapsed if ttft is None else ttft, release=False)
            return
        self.core.router.succeeded(name, elapsed)
        usage = field_of(result, "usage")
        charge = self.charge(usage if isinstance(usage, Usage) else None)
        self.core.ledger.record_success(name, self.model, charge, elapsed)

    def stream_finished(
        self, usage: Usage | None, ttft: float | None, error: APIError | None
    ) -> None:
        """A stream that had opened ended: its tokens, cost and total time go to the ledger."""
        assert self.current is not None
        name = self.current.endpoint.name
        elapsed = self._clock() - self.attempt_started
        router = self.core.router
        if error is not None:
            router.failed(name, counts=speaks_of_health(error), after_open=True)
            self.core.ledger.record_failure(name, self.model, type(error).__name__, elapsed)
            return
        router.release(name)
        self.core.ledger.record_success(name, self.model, self.charge(usage), elapsed, ttft)

    def abandoned(self) -> None:
        """The attempt ended without an outcome (cancelled, interrupted): free its place."""
        if self.current is not None:
            self.core.router.failed(self.current.endpoint.name, counts=False)

    def failed(self, error: APIError) -> None:
        """An attempt failed: its endpoint's breaker, the ledger and the call's history."""
        assert self.current is not None
        name = self.current.endpoint.name
        elapsed = self._clock() - self.attempt_started
        retry = self.options.retry
        counts = speaks_of_health(error)
        retry_after = (
            retry.retry_after(error.headers) if isinstance(error, APIStatusError) else None
        )
        self.core.router.failed(name, counts=counts, retry_after=retry_after)
        self.core.ledger.record_failure(name, self.model, type(error).__name__, elapsed)
        status = error.status_code if isinstance(error, APIStatusError) else None
        self.history.append(
            AttemptFailure(
                attempt=len(self._tried),
                endpoint=name,
                error=str(error.message),
                status_code=status,
            )
        )
        error.history = list(self.history)
