"""maaskit: a typed client for language Model-as-a-Service APIs."""

from ._async_client import AsyncClient
from ._auth import BearerAuth, HeaderAuth, OAuth2ClientCredentials
from ._breaker import BreakerPolicy
from ._call import ATTEMPT_HEADER, IDEMPOTENCY_HEADER
from ._client import Client
from ._config import Timeout
from ._config_file import ClientSettings, load_config
from ._endpoint import Budget, Endpoint, Price
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AttemptFailure,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    ConflictError,
    MaaSError,
    NoEndpointAvailable,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
    UnsupportedTaskError,
)
from ._hooks import AttemptEvent
from ._ledger import UsageEntry, UsageReport
from ._logging import redact_headers
from ._middleware import AsyncCallNext, AsyncMiddleware, AttemptInfo, CallNext, Middleware
from ._options import ClientOptions
from ._retry import RetryPolicy
from ._retry_budget import RetryBudget
from ._router import EndpointHealth, Router
from ._routing import Candidate, RouteRequest
from ._streaming import AsyncStream, Stream
from ._version import __version__
from .eval import evaluate
from .types import (
    ChatChunk,
    ChatMessage,
    ChatResponse,
    ClassificationResponse,
    ClassificationResult,
    Completion,
    CompletionChunk,
    Datatype,
    EmbeddingResponse,
    InferInput,
    InferOutput,
    InferResponse,
    ModelInfo,
    RequestedOutput,
    RerankResponse,
    RerankResult,
    ResponseInfo,
    SimilarityResponse,
    Usage,
)

__all__ = [
    "ATTEMPT_HEADER",
    "IDEMPOTENCY_HEADER",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncCallNext",
    "AsyncClient",
    "AsyncMiddleware",
    "AsyncStream",
    "AttemptEvent",
    "AttemptFailure",
    "AttemptInfo",
    "AuthenticationError",
    "BadRequestError",
    "BearerAuth",
    "BreakerPolicy",
    "Budget",
    "BudgetExceededError",
    "CallNext",
    "Candidate",
    "ChatChunk",
    "ChatMessage",
    "ChatResponse",
    "ClassificationResponse",
    "ClassificationResult",
    "Client",
    "ClientOptions",
    "ClientSettings",
    "Completion",
    "CompletionChunk",
    "ConflictError",
    "Datatype",
    "EmbeddingResponse",
    "Endpoint",
    "EndpointHealth",
    "HeaderAuth",
    "InferInput",
    "InferOutput",
    "InferResponse",
    "MaaSError",
    "Middleware",
    "ModelInfo",
    "NoEndpointAvailable",
    "NotFoundError",
    "OAuth2ClientCredentials",
    "PermissionDeniedError",
    "Price",
    "RateLimitError",
    "RequestedOutput",
    "RerankResponse",
    "RerankResult",
    "ResponseInfo",
    "ResponseValidationError",
    "RetryBudget",
    "RetryPolicy",
    "RouteRequest",
    "Router",
    "ServerError",
    "SimilarityResponse",
    "Stream",
    "Timeout",
    "UnprocessableEntityError",
    "UnsupportedTaskError",
    "Usage",
    "UsageEntry",
    "UsageReport",
    "__version__",
    "evaluate",
    "load_config",
    "redact_headers",
]
