"""Neutral wire types shared by every provider (pydantic v2)."""

from ._chat import (
    ChatChoice,
    ChatChunk,
    ChatMessage,
    ChatRequest,
    ChatResponse,
    Completion,
    CompletionChunk,
    CompletionRequest,
)
from ._common import (
    CompletionTokensDetails,
    ModelInfo,
    ModelList,
    PromptTokensDetails,
    ResponseInfo,
    Result,
    Usage,
)
from ._embeddings import (
    ClassificationRequest,
    ClassificationResponse,
    ClassificationResult,
    EmbeddingRequest,
    EmbeddingResponse,
)
from ._rerank import (
    RerankRequest,
    RerankResponse,
    RerankResult,
    SimilarityRequest,
    SimilarityResponse,
)
from ._tensors import (
    Datatype,
    InferInput,
    InferOutput,
    InferRequest,
    InferResponse,
    RequestedOutput,
)

__all__ = [
    "ChatChoice",
    "ChatChunk",
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "ClassificationRequest",
    "ClassificationResponse",
    "ClassificationResult",
    "Completion",
    "CompletionChunk",
    "CompletionRequest",
    "CompletionTokensDetails",
    "Datatype",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "InferInput",
    "InferOutput",
    "InferRequest",
    "InferResponse",
    "ModelInfo",
    "ModelList",
    "PromptTokensDetails",
    "RequestedOutput",
    "RerankRequest",
    "RerankResponse",
    "RerankResult",
    "ResponseInfo",
    "Result",
    "SimilarityRequest",
    "SimilarityResponse",
    "Usage",
]
