"""One logical call, sans-I/O: the part of the transport that sync and async share.

A call has one route (the router's ordered endpoints) and one attempt budget
(``max_retries + 1`` attempts in all, whatever the number of endpoints: never retries ×
endpoints). Each attempt builds its request from its own endpoint through that endpoint's
provider; a retryable failure moves the call to the next endpoint of the route at once, and
only an endpoint this call already tried is retried after the backoff (or its
``Retry-After``). Non-retryable statuses end the call unless the endpoint lists them in
``failover_statuses``; a context-length 400 moves to an endpoint with a larger
``max_context``.

``Call`` is that flow: it claims each attempt's endpoint, builds its ``httpx.Request``, and
gives tenacity the retry decision, the backoff and the stop rule. Its parts live beside it:
``_call_state`` (its attributes, and ``Core``, what a client's calls share),
``_call_records`` (reporting each outcome to the router, the ledger and the hook),
``_call_requests`` (one endpoint's form of the request, headers, cached URL and header sets),
``_call_errors`` (outcomes as typed errors, secrets scrubbed) and ``_call_failover`` (where
a failed attempt goes next).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import tenacity

from ._call_errors import (
    budget_exceeded_error,
    complete_provider_error,
    error_from_exception,
    error_from_status,
    idle_timeout_error,
    no_endpoint_error,
)
from ._call_failover import failover_target, first_available, retry_target, untried
from ._call_records import CallRecords
from ._call_requests import (
    ATTEMPT_HEADER,
    IDEMPOTENCY_HEADER,
    PreparedRequest,
    as_refusal,
    own_headers,
    prepare_request,
)
from ._endpoint import Endpoint
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    NoEndpointAvailable,
)
from ._failures import speaks_of_health, told_not_to_retry
from ._http import HttpResponse
from ._logging import logger
from ._middleware import AttemptInfo

__all__ = ["Call", "as_http_response"]


def as_http_response(response: httpx.Response) -> HttpResponse:
    # httpx.Headers is already a mapping with lower-case names and case-insensitive lookups;
    # copying it into a dict on every response cost about a third as much as parsing a small
    # answer.
    return HttpResponse(response.status_code, response.headers, response.content)


class Call(CallRecords):
    """One logical call: its endpoint choices, its attempts' requests and errors, and the
    retry rules tenacity follows (state in ``CallState``, bookkeeping in ``CallRecords``)."""

    # -- choosing endpoints -------------------------------------------------------------------

    def no_endpoint(self) -> NoEndpointAvailable:
        return no_endpoint_error(self.task.name, self.route.model, self.plan.skipped, self._refused)

    def replan(self) -> None:
        self.plan = self.core.router.plan(self.route)

    def check_budget(self) -> None:
        """Refuse, before anything is sent, a call the client's budget cannot pay for."""
        budget = self.core.budget
        if budget is None or not self.plan.candidates:
            return
        first = self.plan.candidates[0]
        estimate = self.core.router.estimate_cost(first.name, self.route) or 0.0
        spent = self.core.ledger.spent(budget.period)
        if spent + estimate > budget.max_cost:
            raise budget_exceeded_error(budget, spent, estimate, first.name)

    def _claim(self, order: list[Endpoint]) -> PreparedRequest | None:
        """The first endpoint of ``order`` whose provider can express the request and whose
        breaker lets the attempt through. The request is built before the claim, so a
        refusal never holds a half-open breaker's one probe."""
        for endpoint in order:
            if endpoint.name in self._refused:
                continue
            try:
                prepared = self._prepare(endpoint)
            except (ValueError, TypeError) as exc:
                self._refused[endpoint.name] = as_refusal(exc)
                continue
            if self.core.router.acquire(endpoint.name):
                return prepared
        return None

    def begin(self, number: int) -> None:
        """Choose and claim this attempt's endpoint and prepare its request."""
        wanted = self._next
        order = list(self.plan.candidates)
        if wanted is not None:
            order.remove(wanted)
            order.insert(0, wanted)
        prepared = self._claim(order)
        if prepared is None:
            if self._refused and len(self._refused) == len(order) and not self.plan.skipped:
                # Every endpoint refused: the request itself is at fault, so the caller gets
                # the first provider's own words as a typed error (with other endpoints
                # skipped for their own reasons, NoEndpointAvailable names them all).
                raise next(iter(self._refused.values()))
            raise self.no_endpoint()
        self._tried.append(prepared.endpoint.name)
        self.current = prepared
        self.attempt_started = self._clock()

    def _prepare(self, endpoint: Endpoint) -> PreparedRequest:
        prepared = self._prepared.get(endpoint.name)
        if prepared is not None:
            return prepared
        prepared = prepare_request(
            endpoint,
            self.task,
            self.neutral,
            model=self.route.model,
            streaming=self.streaming,
            per_call=self.per_call,
        )
        if self.idempotency_key is None and not prepared.request.idempotent:
            self.idempotency_key = f"maaskit-{uuid.uuid4()}"
        self._prepared[endpoint.name] = prepared
        return prepared

    # -- building attempts -------------------------------------------------------------------

    def remaining(self) -> float | None:
        total = self.options.timeout.total
        return None if total is None else max(total - (self._clock() - self._started), 0.001)

    def headers(self, attempt: int) -> dict[str, str]:
        """Every header of an attempt on the current endpoint, as ``build_request`` takes them."""
        prepared = self.current
        assert prepared is not None
        headers = own_headers(prepared, self.streaming, self.options.default_headers, self.per_call)
        if self.idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = self.idempotency_key
        headers[ATTEMPT_HEADER] = str(attempt)
        return headers

    def build(self, client: httpx.Client | httpx.AsyncClient, attempt: int) -> httpx.Request:
        prepared = self.current
        assert prepared is not None
        per_call_timeout = self.per_call.timeout if self.per_call is not None else None
        timeout_settings = per_call_timeout or prepared.endpoint.timeout or self.options.timeout
        timeout = timeout_settings.for_attempt(self.remaining(), streaming=self.streaming)
        params = self._query(prepared.request.params)
        if client.cookies or client.params:
            # httpx merges the client's cookies and query into each request: its own way.
            return client.build_request(
                prepared.request.method,
                prepared.url,
                content=prepared.content,
                params=params,
                headers=self.headers(attempt),
                timeout=timeout,
            )
        # What build_request would make, from parts built once per client, URL and header
        # set: build_request parses the URL and merges httpx.Headers on every call, about a
        # tenth of a models() call (callgrind, #19).
        forms = self.core.forms
        own = own_headers(prepared, self.streaming, self.options.default_headers, self.per_call)
        request = httpx.Request(
            prepared.request.method,
            forms.url(prepared.url),
            content=prepared.content,
            params=params,
            headers=forms.headers(client, own),
            extensions={"timeout": timeout.as_dict()},
        )
        if self.idempotency_key is not None:
            request.headers[IDEMPOTENCY_HEADER] = self.idempotency_key
        request.headers[ATTEMPT_HEADER] = str(attempt)
        return request

    def _query(self, params: Mapping[str, str]) -> dict[str, str] | None:
        extra = self.per_call.extra_query if self.per_call is not None else {}
        return {**params, **extra} or None

    def middleware(self) -> tuple[Any, ...]:
        """The chain of this attempt: the client's, then its endpoint's."""
        own = self.current.endpoint.middleware if self.current is not None else ()
        return self.core.middleware + own if own else self.core.middleware

    def attempt_info(self, attempt: int) -> AttemptInfo:
        """What the middleware chain is told of this attempt."""
        name = self.current.endpoint.name if self.current is not None else "-"
        return AttemptInfo(endpoint=name, attempt=attempt, task=self.task.name, model=self.model)

    @property
    def auth(self) -> Any:
        auth = self.current.endpoint.auth if self.current is not None else None
        return auth if auth is not None else httpx.USE_CLIENT_DEFAULT

    @property
    def usage_injected(self) -> bool:
        return self.current is not None and self.current.usage_injected

    # -- turning outcomes into errors --------------------------------------------------------

    def status_error(self, response: HttpResponse, attempt: int) -> APIStatusError:
        assert self.current is not None
        return error_from_status(
            response, endpoint=self.current.endpoint, where=self.endpoint, attempt=attempt
        )

    def _endpoint_or_none(self) -> Endpoint | None:
        return self.current.endpoint if self.current is not None else None

    def transport_error(self, exc: Exception, attempt: int) -> APIConnectionError:
        return error_from_exception(
            exc, endpoint=self._endpoint_or_none(), where=self.endpoint, attempt=attempt
        )

    def idle_timeout(self, attempt: int) -> APITimeoutError:
        return idle_timeout_error(
            self.options.timeout.stream_idle,
            endpoint=self._endpoint_or_none(),
            where=self.endpoint,
            attempt=attempt,
        )

    def complete_error(self, error: APIError, attempt: int) -> APIError:
        """Errors raised by a provider know nothing of the call: add where and when."""
        return complete_provider_error(
            error, endpoint=self._endpoint_or_none(), where=self.endpoint, attempt=attempt
        )

    # -- tenacity ------------------------------------------------------------------------------

    def _retry(self, retry_state: tenacity.RetryCallState) -> bool:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        self._next = None
        if not isinstance(error, APIError) or self.current is None:
            return False
        endpoint = self.current.endpoint
        candidates = self.plan.candidates
        router = self.core.router
        if self.options.retry.is_retryable(error):
            target = retry_target(candidates, endpoint, self._tried, router, self._clock())
        elif speaks_of_health(error) and not told_not_to_retry(error):
            # Retryable but not here (a Retry-After longer than a call should wait): another
            # backend may answer now.
            now = self._clock()
            target = first_available(untried(candidates, self._tried, self._refused), router, now)
        else:
            target = failover_target(error, endpoint, candidates, self._tried, self._refused)
        if target is None or retry_state.attempt_number >= self.options.retry.max_attempts:
            return False
        throttle = self.core.throttle
        if throttle is not None and not throttle.try_retry(self._clock()):
            logger.warning(
                "maaskit %s: the client's retry budget is spent; not retrying: %s",
                self.endpoint,
                error,
            )
            error.retry_budget_exhausted = True
            return False
        self._next = target
        return True

    def _wait(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        target = self._next
        if target is not None and target.name not in self._tried:
            return 0.0  # another backend: no reason to wait for this one's recovery
        self._retry_number += 1
        return self.options.retry.delay(self._retry_number, error)

    def _stop(self, retry_state: tenacity.RetryCallState) -> bool:
        if retry_state.attempt_number >= self.options.retry.max_attempts:
            return True
        total = self.options.timeout.total
        if total is None:
            return False
        # Do not sleep past the call's deadline only to give up afterwards.
        return (self._clock() - self._started) + retry_state.upcoming_sleep >= total

    def _before_sleep(self, retry_state: tenacity.RetryCallState) -> None:
        outcome = retry_state.outcome
        target = self._next.name if self._next is not None else "?"
        logger.info(
            "maaskit %s retrying on %s in %.2f s after attempt %d: %s",
            self.endpoint,
            target,
            retry_state.upcoming_sleep,
            retry_state.attempt_number,
            outcome.exception() if outcome is not None else None,
        )

    def retry_options(self, sleep: Callable[[float], Any]) -> dict[str, Any]:
        return {
            "retry": self._retry,
            "wait": self._wait,
            "stop": self._stop,
            "sleep": sleep,
            "before_sleep": self._before_sleep,
            "reraise": True,
        }

    def started(self) -> None:
        throttle = self.core.throttle
        if throttle is not None:
            throttle.first_attempt(self._clock())
