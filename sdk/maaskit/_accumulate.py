"""Joining a stream's chunks into the answer a plain call would have returned.

Chunks arrive per choice (``index``); tool calls arrive as pieces keyed by their own
``index``, the first with ``id`` and name, the rest with more argument text (OpenAI); Ollama
sends each call whole. What is joined: text, refusal, tool calls, log-probabilities, the
finish reason, and the stream's usage, id, model and ``system_fingerprint``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .types import (
    ChatChoice,
    ChatChunk,
    ChatMessage,
    ChatResponse,
    ChoiceLogprobs,
    Completion,
    CompletionChunk,
    CompletionLogprobs,
    FunctionCall,
    TokenLogprob,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = ["ChatAccumulator", "CompletionAccumulator"]


@dataclass
class _CallParts:
    id: str = ""
    type: str = "function"
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def add(self, delta: ToolCallDelta) -> None:
        if delta.id:
            self.id = delta.id
        if delta.type:
            self.type = delta.type
        if delta.function is not None:
            if delta.function.name:
                self.name = delta.function.name
            if delta.function.arguments:
                self.arguments.append(delta.function.arguments)

    def call(self) -> ToolCall:
        function = FunctionCall(name=self.name, arguments="".join(self.arguments))
        return ToolCall(id=self.id, type=self.type, function=function)


@dataclass
class _ChoiceParts:
    role: str = "assistant"
    text: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    calls: dict[int, _CallParts] = field(default_factory=dict)
    logprobs: list[TokenLogprob] | None = None
    finish_reason: str | None = None


class ChatAccumulator:
    def __init__(self) -> None:
        self._choices: dict[int, _ChoiceParts] = {}
        self._id: str | None = None
        self._model: str | None = None
        self._created: int | None = None
        self._fingerprint: str | None = None

    def add(self, chunk: ChatChunk) -> None:
        self._id = self._id or chunk.id
        self._model = self._model or chunk.model
        self._created = self._created or chunk.created
        self._fingerprint = self._fingerprint or chunk.system_fingerprint
        usage_only = chunk.usage is not None and not chunk.text and not chunk.tool_calls
        if usage_only and chunk.finish_reason is None and chunk.index not in self._choices:
            return  # the usage-only chunk belongs to no choice
        parts = self._choices.setdefault(chunk.index, _ChoiceParts())
        if chunk.role:
            parts.role = chunk.role
        if chunk.text:
            parts.text.append(chunk.text)
        if chunk.refusal:
            parts.refusal.append(chunk.refusal)
        for delta in chunk.tool_calls:
            parts.calls.setdefault(delta.index, _CallParts()).add(delta)
        if chunk.logprobs is not None and chunk.logprobs.content is not None:
            parts.logprobs = (parts.logprobs or []) + chunk.logprobs.content
        if chunk.finish_reason is not None:
            parts.finish_reason = chunk.finish_reason

    def result(self, usage: Usage | None) -> ChatResponse:
        choices = []
        for index in sorted(self._choices):
            parts = self._choices[index]
            calls = [parts.calls[i].call() for i in sorted(parts.calls)]
            message = ChatMessage(
                role=parts.role,
                content="".join(parts.text) if parts.text or not calls else None,
                tool_calls=calls or None,
                refusal="".join(parts.refusal) if parts.refusal else None,
            )
            logprobs = None
            if parts.logprobs is not None:
                logprobs = ChoiceLogprobs(content=parts.logprobs)
            choices.append(
                ChatChoice(
                    index=index,
                    message=message,
                    finish_reason=parts.finish_reason,
                    logprobs=logprobs,
                )
            )
        return ChatResponse(
            id=self._id,
            model=self._model,
            created=self._created,
            system_fingerprint=self._fingerprint,
            choices=choices,
            usage=usage,
        )


@dataclass
class _TextParts:
    text: list[str] = field(default_factory=list)
    logprobs: CompletionLogprobs | None = None
    finish_reason: str | None = None


class CompletionAccumulator:
    def __init__(self) -> None:
        self._choices: dict[int, _TextParts] = {}
        self._id: str | None = None
        self._model: str | None = None
        self._created: int | None = None
        self._fingerprint: str | None = None

    def add(self, chunk: CompletionChunk) -> None:
        self._id = self._id or chunk.id
        self._model = self._model or chunk.model
        self._created = self._created or chunk.created
        self._fingerprint = self._fingerprint or chunk.system_fingerprint
        usage_only = chunk.usage is not None and not chunk.text
        if usage_only and chunk.finish_reason is None and chunk.index not in self._choices:
            return
        parts = self._choices.setdefault(chunk.index, _TextParts())
        if chunk.text:
            parts.text.append(chunk.text)
        if chunk.logprobs is not None:
            parts.logprobs = _join_logprobs(parts.logprobs, chunk.logprobs)
        if chunk.finish_reason is not None:
            parts.finish_reason = chunk.finish_reason

    def result(self, usage: Usage | None) -> Completion:
        indexes = sorted(self._choices)
        return Completion(
            id=self._id,
            model=self._model,
            created=self._created,
            system_fingerprint=self._fingerprint,
            texts=["".join(self._choices[i].text) for i in indexes],
            finish_reasons=[self._choices[i].finish_reason for i in indexes],
            logprobs=[self._choices[i].logprobs for i in indexes],
            usage=usage,
        )


def _join_logprobs(
    before: CompletionLogprobs | None, new: CompletionLogprobs
) -> CompletionLogprobs:
    if before is None:
        return new
    top = None
    if before.top_logprobs is not None or new.top_logprobs is not None:
        top = (before.top_logprobs or []) + (new.top_logprobs or [])
    return CompletionLogprobs(
        tokens=before.tokens + new.tokens,
        token_logprobs=before.token_logprobs + new.token_logprobs,
        top_logprobs=top,
        text_offset=before.text_offset + new.text_offset,
    )
