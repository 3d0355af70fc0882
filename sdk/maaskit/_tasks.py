"""Task descriptors: typed keys that tie a request type to its result and chunk types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from .types import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    ClassificationRequest,
    ClassificationResponse,
    Completion,
    CompletionChunk,
    CompletionRequest,
    EmbeddingRequest,
    EmbeddingResponse,
    InferRequest,
    InferResponse,
    ModelList,
    RerankRequest,
    RerankResponse,
    Result,
    SimilarityRequest,
    SimilarityResponse,
)

__all__ = [
    "CHAT",
    "CLASSIFY",
    "COMPLETE",
    "EMBED",
    "INFER",
    "MODELS",
    "RERANK",
    "SIMILARITY",
    "TASKS",
    "ModelsRequest",
    "Task",
]

RequestT = TypeVar("RequestT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=Result)
ChunkT = TypeVar("ChunkT", bound=Result)


@dataclass(frozen=True)
class Task(Generic[RequestT, ResultT, ChunkT]):
    """A kind of call. Its type parameters let ``Provider.parse_response(CHAT, …)`` be typed."""

    name: str
    streams: bool = False


class ModelsRequest(BaseModel):
    """``models()`` takes no arguments; this keeps the provider interface uniform."""


CHAT: Task[ChatRequest, ChatResponse, ChatChunk] = Task("chat", streams=True)
COMPLETE: Task[CompletionRequest, Completion, CompletionChunk] = Task("complete", streams=True)
EMBED: Task[EmbeddingRequest, EmbeddingResponse, Result] = Task("embed")
CLASSIFY: Task[ClassificationRequest, ClassificationResponse, Result] = Task("classify")
MODELS: Task[ModelsRequest, ModelList, Result] = Task("models")
# Raw KServe v2 tensors in and out (the kserve provider only).
INFER: Task[InferRequest, InferResponse, Result] = Task("infer")
# A query against documents, best first (vLLM /v1/rerank, TEI /rerank).
RERANK: Task[RerankRequest, RerankResponse, Result] = Task("rerank")
# One text's similarity to each of several (vLLM /v1/score, TEI /similarity).
SIMILARITY: Task[SimilarityRequest, SimilarityResponse, Result] = Task("similarity")

TASKS: dict[str, Task[Any, Any, Any]] = {
    task.name: task for task in (CHAT, COMPLETE, EMBED, CLASSIFY, MODELS, INFER, RERANK, SIMILARITY)
}
