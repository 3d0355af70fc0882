"""One logical call, sans-I/O: the part of the transport that sync and async share.

It builds each attempt's headers and timeout, turns responses and httpx exceptions into
maaskit errors, and gives tenacity the retry decision, the backoff and the stop rule.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import tenacity

from ._auth import SecretAuth
from ._config import ClientConfig
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    status_error_class,
)
from ._hooks import AttemptEvent
from ._http import HttpRequest, HttpResponse
from ._logging import logger, redact_headers, scrub
from ._version import __version__
from .providers._parsing import text_of_body

__all__ = ["ATTEMPT_HEADER", "IDEMPOTENCY_HEADER", "Call", "as_http_response"]

IDEMPOTENCY_HEADER = "Idempotency-Key"
ATTEMPT_HEADER = "X-MaaSKit-Attempt"
USER_AGENT = f"maaskit/{__version__}"


def encode_json(body: Any, what: str) -> bytes:
    """The bytes httpx's ``json=`` would send; a body JSON cannot carry is a ``TypeError``."""
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the {what} parameters are not JSON-serializable: {exc}") from None
    return text.encode()


def as_http_response(response: httpx.Response) -> HttpResponse:
    # httpx.Headers is already a mapping with lower-case names and case-insensitive lookups;
    # copying it into a dict on every response cost about a third as much as parsing a small
    # answer.
    return HttpResponse(response.status_code, response.headers, response.content)


class Call:
    """State of one logical call across its attempts."""

    def __init__(
        self,
        config: ClientConfig,
        request: HttpRequest,
        *,
        what: str = "request",
        streaming: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.request = request
        # Encoded once for every attempt; it also fails here, before anything is sent.
        self.content = None if request.json is None else encode_json(request.json, what)
        self.streaming = streaming
        self._clock = clock
        self._started = clock()
        # One key for every attempt, so a server that honours it runs a retried POST once.
        self.idempotency_key = None if request.idempotent else f"maaskit-{uuid.uuid4()}"
        # An empty path is the base URL itself (a Hugging Face model endpoint is POSTed to
        # as is; a trailing slash would be another route).
        path = request.path.lstrip("/")
        self.url = f"{config.base_url}/{path}" if path else config.base_url
        self.endpoint = f"{request.method.upper()} {self.url}"

    # -- building attempts -------------------------------------------------------------------

    def remaining(self) -> float | None:
        total = self.config.timeout.total
        return None if total is None else max(total - (self._clock() - self._started), 0.001)

    def headers(self, attempt: int) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.streaming:
            headers["Accept"] = "text/event-stream"
        if self.content is not None:
            headers["Content-Type"] = "application/json"
        extra = self.config.default_headers or self.request.headers
        if extra:
            overrides = {**self.config.default_headers, **self.request.headers}
            # A default or provider header replaces maaskit's own of the same name, whatever
            # its case (two dict keys differing in case would send the header twice).
            replaced = {name.lower() for name in overrides}
            headers = {k: v for k, v in headers.items() if k.lower() not in replaced}
            headers.update(overrides)
        if self.idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = self.idempotency_key
        headers[ATTEMPT_HEADER] = str(attempt)
        return headers

    def build(self, client: httpx.Client | httpx.AsyncClient, attempt: int) -> httpx.Request:
        timeout = self.config.timeout.for_attempt(self.remaining(), streaming=self.streaming)
        request = client.build_request(
            self.request.method,
            self.url,
            content=self.content,
            params=dict(self.request.params) or None,
            headers=self.headers(attempt),
            timeout=timeout,
        )
        return request

    @property
    def auth(self) -> Any:
        return self.config.auth if self.config.auth is not None else httpx.USE_CLIENT_DEFAULT

    # -- turning outcomes into errors --------------------------------------------------------

    def _secrets(self) -> list[str]:
        auth = self.config.auth
        return auth.secrets() if isinstance(auth, SecretAuth) else []

    def status_error(self, response: HttpResponse, attempt: int) -> APIStatusError:
        secrets = self._secrets()
        provider_message = self.config.provider.error_message(response)
        if provider_message is not None:
            provider_message = scrub(provider_message, secrets)
        headers = dict(response.headers)
        status = response.status_code
        message = f"HTTP {status}" + (f": {provider_message}" if provider_message else "")
        return status_error_class(status)(
            message,
            status_code=status,
            request_id=headers.get("x-request-id") or headers.get("request-id"),
            provider_message=provider_message,
            body=scrub(text_of_body(response.body), secrets),
            headers=headers,
            endpoint=self.endpoint,
            attempts=attempt,
            retry_hint=self.config.provider.retry_hint(response),
        )

    def transport_error(self, exc: Exception, attempt: int) -> APIConnectionError:
        kind = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        detail = scrub(str(exc) or type(exc).__name__, self._secrets())
        return kind(
            f"{type(exc).__name__}: {detail}",
            endpoint=self.endpoint,
            attempts=attempt,
        )

    def idle_timeout(self, attempt: int) -> APITimeoutError:
        return APITimeoutError(
            f"no stream chunk within {self.config.timeout.stream_idle} s",
            endpoint=self.endpoint,
            attempts=attempt,
        )

    def complete_error(self, error: APIError, attempt: int) -> APIError:
        """Errors raised by a provider know nothing of the call: add where and when."""
        error.endpoint = error.endpoint or self.endpoint
        error.attempts = error.attempts or attempt
        if isinstance(error, APIStatusError) and error.provider_message:
            error.provider_message = scrub(error.provider_message, self._secrets())
        return error

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
        hook = self.config.on_attempt
        if hook is not None:
            hook(AttemptEvent(request=request, attempt=attempt, response=response, error=error))

    # -- tenacity ------------------------------------------------------------------------------

    def _retry(self, retry_state: tenacity.RetryCallState) -> bool:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        return error is not None and self.config.retry.is_retryable(error)

    def _wait(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        return self.config.retry.delay(retry_state.attempt_number, error)

    def _stop(self, retry_state: tenacity.RetryCallState) -> bool:
        if retry_state.attempt_number >= self.config.retry.max_attempts:
            return True
        total = self.config.timeout.total
        if total is None:
            return False
        # Do not sleep past the call's deadline only to give up afterwards.
        return (self._clock() - self._started) + retry_state.upcoming_sleep >= total

    def _before_sleep(self, retry_state: tenacity.RetryCallState) -> None:
        outcome = retry_state.outcome
        logger.info(
            "maaskit %s retrying in %.2f s after attempt %d: %s",
            self.endpoint,
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
