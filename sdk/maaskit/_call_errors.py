"""A call's failures as the typed maaskit errors the caller sees.

An attempt's outcome (a status, an httpx exception, a quiet stream, a provider's own error) is
told the endpoint the attempt went to (``None`` before one was chosen) and ``where``
(``METHOD URL``, for the message). Every text that came from the server or from httpx passes
through ``scrub`` with the endpoint's secrets first: a backend may echo the key back in a body
or a header, and an error is printed, logged and pickled far from here. A call that cannot
start (no endpoint, no budget left) is refused with its reasons.

These run only when something failed, so they are plain functions behind ``Call``'s methods:
the one extra frame is off the path of a successful call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from ._auth import SecretAuth
from ._endpoint import Budget, Endpoint
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    BudgetExceededError,
    InvalidRequestError,
    NoEndpointAvailable,
    status_error_class,
)
from ._http import HttpResponse
from ._logging import REDACTED, SENSITIVE_HEADERS, scrub
from .providers._parsing import error_details_of, error_fields_of, text_of_body

__all__ = [
    "budget_exceeded_error",
    "complete_provider_error",
    "error_from_exception",
    "error_from_status",
    "error_payload",
    "idle_timeout_error",
    "no_endpoint_error",
    "place",
    "secrets_of",
]


def error_payload(body: bytes) -> Any:
    """A JSON error body, or ``None`` for any other body."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def secrets_of(endpoint: Endpoint | None) -> list[str]:
    """What must never appear in an error from ``endpoint``: its auth's keys."""
    auth = endpoint.auth if endpoint is not None else None
    return auth.secrets() if isinstance(auth, SecretAuth) else []


def place(error: APIError, endpoint: Endpoint | None) -> None:
    """Name the endpoint on the error, so a caller can tell which backend failed."""
    error.endpoint_name = endpoint.name if endpoint is not None else None


def error_from_status(
    response: HttpResponse, *, endpoint: Endpoint, where: str, attempt: int
) -> APIStatusError:
    secrets = secrets_of(endpoint)
    protocol = endpoint.protocol
    provider_message = protocol.error_message(response)
    if provider_message is not None:
        provider_message = scrub(provider_message, secrets)
    # A server may echo the key back in a header: the error keeps no copy of it.
    headers = {
        name: REDACTED if name in SENSITIVE_HEADERS else scrub(value, secrets)
        for name, value in response.headers.items()
    }
    status = response.status_code
    message = f"HTTP {status}" + (f": {provider_message}" if provider_message else "")
    payload = error_payload(response.body)
    details = error_details_of(payload)
    if details is not None and provider_message:
        message += f" ({scrub(details, secrets)})"
    fields = {key: scrub(value, secrets) for key, value in error_fields_of(payload).items()}
    error = status_error_class(status)(
        message,
        status_code=status,
        request_id=headers.get("x-request-id") or headers.get("request-id"),
        provider_message=provider_message,
        body=scrub(text_of_body(response.body), secrets),
        headers=headers,
        endpoint=where,
        attempts=attempt,
        retry_hint=protocol.retry_hint(response),
        type=fields.get("type"),
        code=fields.get("code"),
        param=fields.get("param"),
    )
    place(error, endpoint)
    return error


def error_from_exception(
    exc: Exception, *, endpoint: Endpoint | None, where: str, attempt: int
) -> APIConnectionError:
    """An httpx exception (no answer at all): a timeout or a connection error."""
    kind = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    detail = scrub(str(exc) or type(exc).__name__, secrets_of(endpoint))
    error = kind(f"{type(exc).__name__}: {detail}", endpoint=where, attempts=attempt)
    place(error, endpoint)
    return error


def idle_timeout_error(
    stream_idle: float | None, *, endpoint: Endpoint | None, where: str, attempt: int
) -> APITimeoutError:
    """A stream that went quiet for longer than ``Timeout.stream_idle``."""
    error = APITimeoutError(
        f"no stream chunk within {stream_idle} s", endpoint=where, attempts=attempt
    )
    place(error, endpoint)
    return error


def complete_provider_error(
    error: APIError, *, endpoint: Endpoint | None, where: str, attempt: int
) -> APIError:
    """Errors raised by a provider know nothing of the call: add where and when."""
    error.endpoint = error.endpoint or where
    error.attempts = error.attempts or attempt
    if error.endpoint_name is None:
        place(error, endpoint)
    if isinstance(error, APIStatusError) and error.provider_message:
        error.provider_message = scrub(error.provider_message, secrets_of(endpoint))
    return error


def no_endpoint_error(
    task: str, model: str, skipped: Mapping[str, str], refused: Mapping[str, InvalidRequestError]
) -> NoEndpointAvailable:
    """No endpoint of the route can take the call: each one's reason, refusals included."""
    reasons_by_name = dict(skipped)  # the plan's may be the router's shared fixed plan
    reasons_by_name.update(
        (name, f"cannot express this request: {error}") for name, error in refused.items()
    )
    reasons = "; ".join(f"{name}: {why}" for name, why in reasons_by_name.items())
    return NoEndpointAvailable(
        f"no endpoint can serve {task} for model {model!r}" + (f" ({reasons})" if reasons else ""),
        skipped=reasons_by_name,
    )


def budget_exceeded_error(
    budget: Budget, spent: float, estimate: float, endpoint: str
) -> BudgetExceededError:
    """A call refused before anything was sent: the budget has less left than it would cost."""
    return BudgetExceededError(
        f"the budget of ${budget.max_cost:.6f}"
        + (f" per {budget.period:g} s" if budget.period else "")
        + f" has ${max(budget.max_cost - spent, 0):.6f} left; this call would cost "
        f"about ${estimate:.6f} on {endpoint!r}",
        spent=spent,
        estimate=estimate,
        max_cost=budget.max_cost,
    )
