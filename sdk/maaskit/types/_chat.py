"""Chat and text-completion types."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ._common import Result, Usage
from ._tools import ChoiceLogprobs, CompletionLogprobs, ToolCall, ToolCallDelta

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
    """One chat turn. Extra keys (``name``…) are kept and sent as given.

    An assistant turn that calls tools has ``tool_calls``; the app answers each with a
    ``{"role": "tool", "tool_call_id": call.id, "content": ...}`` message. ``parsed`` is the
    validated instance of a ``response_format=`` pydantic model (never sent back).
    """

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    refusal: str | None = None
    parsed: Any = Field(default=None, exclude=True)


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
    logprobs: ChoiceLogprobs | None = None


class ChatResponse(Result):
    """A finished chat answer. ``text``, ``finish_reason``, ``tool_calls`` and ``parsed``
    are those of the first choice; ``texts`` has one text per choice (``n=``)."""

    id: str | None = None
    model: str | None = None
    created: int | None = None
    system_fingerprint: str | None = None
    choices: list[ChatChoice]
    usage: Usage | None = None

    @property
    def texts(self) -> list[str]:
        return [
            c.message.content if isinstance(c.message.content, str) else "" for c in self.choices
        ]

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The first choice's tool calls (empty when it answered with text)."""
        if not self.choices:
            return []
        return list(self.choices[0].message.tool_calls or [])

    @property
    def parsed(self) -> Any:
        """The first choice's ``response_format=`` model instance (``None`` without one)."""
        return self.choices[0].message.parsed if self.choices else None

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
    """One streamed piece of one choice of a chat answer: ``text`` is its new text and
    ``index`` the choice it belongs to (``n=2`` streams interleave choices 0 and 1).

    ``tool_calls`` holds pieces of tool calls (``Stream.final()`` joins them) and
    ``logprobs`` those of the new tokens. With ``stream_options={"include_usage": True}``
    the final chunk carries ``usage`` and usually no text.
    """

    id: str | None = None
    model: str | None = None
    index: int = 0
    text: str = ""
    role: str | None = None
    finish_reason: str | None = None
    tool_calls: list[ToolCallDelta] = Field(default_factory=list)
    logprobs: ChoiceLogprobs | None = None
    refusal: str | None = None
    system_fingerprint: str | None = None
    created: int | None = None
    usage: Usage | None = None


class CompletionRequest(BaseModel):
    model: str
    prompt: str | list[str]
    stream: bool = False
    params: dict[str, Any] = Field(default_factory=dict)


class Completion(Result):
    """A finished text completion; ``text`` is the first choice's, ``texts`` all of them,
    ``logprobs`` one entry per choice (``None`` where the server sent none)."""

    id: str | None = None
    model: str | None = None
    created: int | None = None
    system_fingerprint: str | None = None
    texts: list[str]
    finish_reasons: list[str | None]
    logprobs: list[CompletionLogprobs | None] = Field(default_factory=list)
    usage: Usage | None = None

    @property
    def text(self) -> str:
        return self.texts[0] if self.texts else ""

    @property
    def finish_reason(self) -> str | None:
        return self.finish_reasons[0] if self.finish_reasons else None


class CompletionChunk(Result):
    """One streamed piece of one choice (``index``) of a completion."""

    id: str | None = None
    model: str | None = None
    index: int = 0
    text: str = ""
    finish_reason: str | None = None
    logprobs: CompletionLogprobs | None = None
    system_fingerprint: str | None = None
    created: int | None = None
    usage: Usage | None = None
