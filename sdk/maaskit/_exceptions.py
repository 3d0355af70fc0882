"""The maaskit error hierarchy: every failure a call can raise is a :class:`MaaSError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AttemptFailure",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ClientClosedError",
    "ConflictError",
    "InvalidRequestError",
    "InvalidRequestTypeError",
    "MaaSError",
    "NoEndpointAvailable",
    "NotFoundError",
    "OutputValidationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "UnprocessableEntityError",
    "UnsupportedTaskError",
    "status_error_class",
]


class MaaSError(Exception):
    """Root of every error maaskit raises on purpose."""


class InvalidRequestError(MaaSError, ValueError):
    """A call's arguments were refused before anything was sent: an empty input or message
    list, a parameter value out of range, a request the provider cannot express. Also a
    ``ValueError``, so code written against plain Python errors keeps working."""


class InvalidRequestTypeError(InvalidRequestError, TypeError):
    """A call's argument has the wrong type, or a keyword is unknown (the message names the
    nearest valid one). Also a ``TypeError``."""


class ClientClosedError(MaaSError, RuntimeError):
    """The client (or the ``http_client`` it was given) is closed; make a new one."""


class OutputValidationError(MaaSError, ValueError):
    """The answer did not validate against the ``response_format=`` model it was asked for.

    ``text`` is the model's raw answer, ``errors`` pydantic's list of what failed (empty when
    the answer was cut off: ``finish_reason`` is then ``"length"``), and ``result`` the whole
    :class:`ChatResponse`, so nothing the server sent is lost.
    """

    def __init__(
        self,
        message: str,
        *,
        text: str,
        errors: Sequence[Mapping[str, object]] = (),
        finish_reason: str | None = None,
        result: object = None,
    ) -> None:
        super().__init__(message)
        self.text = text
        self.errors = list(errors)
        self.finish_reason = finish_reason
        self.result = result


@dataclass(frozen=True)
class AttemptFailure:
    """One failed attempt of a call: its number (1-based), the endpoint's name, the error
    message and the HTTP status (``None`` for connection errors and timeouts)."""

    attempt: int
    endpoint: str
    error: str
    status_code: int | None = None


class APIError(MaaSError):
    """A call to an endpoint failed.

    ``endpoint`` is ``"METHOD URL"`` without credentials and ``endpoint_name`` the name of the
    :class:`maaskit.Endpoint` it went to; ``attempts`` the number of HTTP attempts made,
    ``history`` every failed attempt of the call in order (across endpoints), and
    ``partial_text`` the text already streamed when a stream broke after its first chunk
    (``None`` otherwise). ``retry_budget_exhausted`` is true when the client's retry budget
    stopped a retry that would otherwise have been made.
    """

    def __init__(self, message: str, *, endpoint: str | None = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.endpoint_name: str | None = None
        self.attempts = attempts
        self.history: list[AttemptFailure] = []
        self.partial_text: str | None = None
        self.retry_budget_exhausted = False

    def __str__(self) -> str:
        where = f" ({self.endpoint}, {self.attempts} attempt(s))" if self.endpoint else ""
        endpoints = {failure.endpoint for failure in self.history}
        if len(endpoints) > 1:
            tried = ", ".join(
                f"#{f.attempt} {f.endpoint}: {f.status_code or f.error}" for f in self.history
            )
            where += f" [attempts: {tried}]"
        return f"{self.message}{where}"


class APIConnectionError(APIError):
    """The endpoint could not be reached or the connection broke."""


class APITimeoutError(APIConnectionError):
    """A connect, read, total or stream-idle timeout expired."""


class ResponseValidationError(APIError):
    """The endpoint answered with a body that is not the expected JSON shape."""

    def __init__(
        self,
        message: str,
        *,
        body: str | None = None,
        endpoint: str | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message, endpoint=endpoint, attempts=attempts)
        self.body = body


class APIStatusError(APIError):
    """The endpoint answered with an error status (or sent an error event in a stream).

    ``provider_message`` is the message the provider put in its error body; ``request_id``
    comes from the ``x-request-id`` (or ``request-id``) response header; ``retry_hint`` is a
    wait in seconds that the error body asked for (Hugging Face's ``estimated_time`` while a
    model loads), used as the retry delay when no ``Retry-After`` header says otherwise.
    ``type``, ``code`` and ``param`` are the error body's fields of those names (OpenAI,
    vLLM; ``type`` is TGI's and TEI's ``error_type``), as the official openai client has
    them; ``None`` when the body has none.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        provider_message: str | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
        endpoint: str | None = None,
        attempts: int = 0,
        retry_hint: float | None = None,
        type: str | None = None,  # the openai client's name for it
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, attempts=attempts)
        self.retry_hint = retry_hint
        self.type = type
        self.code = code
        self.param = param
        self.status_code = status_code
        self.request_id = request_id
        self.provider_message = provider_message
        self.body = body
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}


class BadRequestError(APIStatusError):
    """400."""


class AuthenticationError(APIStatusError):
    """401."""


class PermissionDeniedError(APIStatusError):
    """403."""


class NotFoundError(APIStatusError):
    """404."""


class ConflictError(APIStatusError):
    """409."""


class UnprocessableEntityError(APIStatusError):
    """422."""


class RateLimitError(APIStatusError):
    """429."""


class ServerError(APIStatusError):
    """Any status of 500 or more."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, APIStatusError)


class NoEndpointAvailable(MaaSError):
    """No endpoint could take the call: ``skipped`` says, per endpoint name, why it was left
    out (task, model, context length, tags, budget, open circuit); ``errors`` holds any
    failures that came before."""

    def __init__(
        self,
        message: str,
        errors: Sequence[MaaSError] = (),
        *,
        skipped: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.errors = list(errors)
        self.skipped = dict(skipped or {})


class BudgetExceededError(MaaSError):
    """A call's estimated cost would take the client's spending past its ``Budget``; nothing
    was sent. Amounts are US dollars."""

    def __init__(self, message: str, *, spent: float, estimate: float, max_cost: float) -> None:
        super().__init__(message)
        self.spent = spent
        self.estimate = estimate
        self.max_cost = max_cost


class UnsupportedTaskError(MaaSError, NotImplementedError):
    """The client's provider has no such task (``infer()`` on a provider without a tensor
    API, ``rerank()`` on one without a rerank route); nothing was sent. Also a
    ``NotImplementedError``, as a provider's own refusal is."""
