"""The maaskit error hierarchy: every failure a call can raise is a :class:`MaaSError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "MaaSError",
    "NoEndpointAvailable",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "UnprocessableEntityError",
    "status_error_class",
]


class MaaSError(Exception):
    """Root of every error maaskit raises on purpose."""


class APIError(MaaSError):
    """A call to an endpoint failed.

    ``endpoint`` is ``"METHOD URL"`` without credentials, ``attempts`` the number of HTTP
    attempts made, and ``partial_text`` the text already streamed when a stream broke after
    its first chunk (``None`` otherwise).
    """

    def __init__(self, message: str, *, endpoint: str | None = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.attempts = attempts
        self.partial_text: str | None = None

    def __str__(self) -> str:
        where = f" ({self.endpoint}, {self.attempts} attempt(s))" if self.endpoint else ""
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
    ) -> None:
        super().__init__(message, endpoint=endpoint, attempts=attempts)
        self.retry_hint = retry_hint
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
    """Raised by a router when no endpoint could serve a call; ``errors`` holds each failure."""

    def __init__(self, message: str, errors: Sequence[MaaSError] = ()) -> None:
        super().__init__(message)
        self.errors = list(errors)
