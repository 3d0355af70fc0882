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
    ModelList,
    Result,
)

__all__ = ["CHAT", "CLASSIFY", "COMPLETE", "EMBED", "MODELS", "TASKS", "ModelsRequest", "Task"]

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

TASKS: dict[str, Task[Any, Any, Any]] = {
    task.name: task for task in (CHAT, COMPLETE, EMBED, CLASSIFY, MODELS)
}
