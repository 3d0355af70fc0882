"""maaskit: a typed client for language Model-as-a-Service APIs."""

from ._async_client import AsyncClient
from ._auth import BearerAuth, HeaderAuth, OAuth2ClientCredentials
from ._call import ATTEMPT_HEADER, IDEMPOTENCY_HEADER
from ._client import Client
from ._config import Timeout
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    MaaSError,
    NoEndpointAvailable,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
)
from ._hooks import AttemptEvent
from ._logging import redact_headers
from ._retry import RetryPolicy
from ._streaming import AsyncStream, Stream
from ._version import __version__
from .types import (
    ChatChunk,
    ChatMessage,
    ChatResponse,
    ClassificationResponse,
    ClassificationResult,
    Completion,
    CompletionChunk,
    EmbeddingResponse,
    ModelInfo,
    Usage,
)

__all__ = [
    "ATTEMPT_HEADER",
    "IDEMPOTENCY_HEADER",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncStream",
    "AttemptEvent",
    "AuthenticationError",
    "BadRequestError",
    "BearerAuth",
    "ChatChunk",
    "ChatMessage",
    "ChatResponse",
    "ClassificationResponse",
    "ClassificationResult",
    "Client",
    "Completion",
    "CompletionChunk",
    "ConflictError",
    "EmbeddingResponse",
    "HeaderAuth",
    "MaaSError",
    "ModelInfo",
    "NoEndpointAvailable",
    "NotFoundError",
    "OAuth2ClientCredentials",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "RetryPolicy",
    "ServerError",
    "Stream",
    "Timeout",
    "UnprocessableEntityError",
    "Usage",
    "__version__",
    "redact_headers",
]
