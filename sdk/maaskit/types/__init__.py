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
    "EmbeddingRequest",
    "EmbeddingResponse",
    "ModelInfo",
    "ModelList",
    "PromptTokensDetails",
    "ResponseInfo",
    "Result",
    "Usage",
]
