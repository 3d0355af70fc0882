"""Chat and text-completion types."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ._common import Result, Usage

__all__ = [
    "ChatChoice",
    "ChatChunk",
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "Completion",
    "CompletionChunk",
    "CompletionRequest",
]


class ChatMessage(BaseModel):
    """One chat turn. Extra keys (``name``, ``tool_calls``…) are kept and sent as given."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """A neutral chat request; ``params`` carries provider options such as ``max_tokens``."""

    model: str
    messages: list[ChatMessage]
    stream: bool = False
    params: dict[str, Any] = Field(default_factory=dict)


class ChatChoice(BaseModel):
    model_config = ConfigDict(extra="ignore")

    index: int = 0
    message: ChatMessage
    finish_reason: str | None = None


class ChatResponse(Result):
    """A finished chat answer. ``text`` and ``finish_reason`` are those of the first choice."""

    id: str | None = None
    model: str | None = None
    choices: list[ChatChoice]
    usage: Usage | None = None

    @property
    def text(self) -> str:
        if not self.choices:
            return ""
        content = self.choices[0].message.content
        return content if isinstance(content, str) else ""

    @property
    def finish_reason(self) -> str | None:
        return self.choices[0].finish_reason if self.choices else None


class ChatChunk(Result):
    """One streamed piece of a chat answer: ``text`` is the new text of the first choice.

    With ``stream_options={"include_usage": True}`` the final chunk carries ``usage`` and
    usually no text.
    """

    id: str | None = None
    model: str | None = None
    text: str = ""
    role: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None


class CompletionRequest(BaseModel):
    model: str
    prompt: str | list[str]
    stream: bool = False
    params: dict[str, Any] = Field(default_factory=dict)


class Completion(Result):
    """A finished text completion; ``text`` is the first choice's, ``texts`` all of them."""

    id: str | None = None
    model: str | None = None
    texts: list[str]
    finish_reasons: list[str | None]
    usage: Usage | None = None

    @property
    def text(self) -> str:
        return self.texts[0] if self.texts else ""

    @property
    def finish_reason(self) -> str | None:
        return self.finish_reasons[0] if self.finish_reasons else None


class CompletionChunk(Result):
    """One streamed piece of a completion (first choice)."""

    id: str | None = None
    model: str | None = None
    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
