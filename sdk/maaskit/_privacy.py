"""Masking a call's texts before they leave the process, and restoring the answer.

The client holds any object with ``session()`` (a :class:`maaskit.privacy.Masker`) or a
session itself (one ``MaskSession`` shared by the calls of a conversation keeps placeholders
stable across them). This module only walks the neutral requests and results; detection and
placeholders are ``maaskit.privacy``'s, which the SDK core does not import (its phone-number
library is an optional extra).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Iterator
from typing import Any, Protocol, TypeVar, cast

from pydantic import BaseModel

from .types import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    ClassificationRequest,
    Completion,
    CompletionRequest,
    EmbeddingRequest,
    RerankRequest,
    Result,
    SimilarityRequest,
)

__all__ = ["ChunkRestorer", "Session", "amask_request", "mask_request", "open_session"]

RequestT = TypeVar("RequestT", bound=BaseModel)
ChunkT = TypeVar("ChunkT", bound=Result)


class Restorer(Protocol):
    def feed(self, chunk: str) -> str: ...

    def flush(self) -> str: ...


class Session(Protocol):
    @property
    def restores(self) -> bool: ...

    def mask(self, text: str) -> str: ...

    def amask(self, text: str) -> Awaitable[str]: ...

    def restore(self, text: str) -> str: ...

    def stream_restorer(self) -> Restorer: ...


def check_privacy(privacy: Any) -> Any:
    """``None`` / ``False`` (off), a masker (``session()``), or a session (``mask``)."""
    if privacy is None or privacy is False:
        return None
    if callable(getattr(privacy, "session", None)) or callable(getattr(privacy, "mask", None)):
        return privacy
    raise TypeError(
        "privacy must be a maaskit.privacy.Masker, a MaskSession, False or None, "
        f"not {type(privacy).__name__}"
    )


def open_session(privacy: Any) -> Session | None:
    privacy = check_privacy(privacy)
    if privacy is None:
        return None
    if callable(getattr(privacy, "session", None)):
        session: Session = privacy.session()
        return session
    found: Session = privacy
    return found


def _texts(request: BaseModel) -> Iterator[str]:
    """Every text of a request that goes to the model, in a fixed order."""
    if isinstance(request, ChatRequest):
        for message in request.messages:
            if isinstance(message.content, str):
                yield message.content
            elif isinstance(message.content, list):
                for part in message.content:
                    if isinstance(part.get("text"), str):
                        yield part["text"]
            # An assistant turn sent back carries the values its tool calls were made with.
            for call in message.tool_calls or []:
                yield call.function.arguments
    elif isinstance(request, CompletionRequest):
        yield from [request.prompt] if isinstance(request.prompt, str) else request.prompt
    elif isinstance(request, (EmbeddingRequest, ClassificationRequest)):
        yield from [request.input] if isinstance(request.input, str) else request.input
    elif isinstance(request, RerankRequest):
        yield request.query
        yield from request.documents
    elif isinstance(request, SimilarityRequest):
        yield request.source
        yield from request.sentences


def _rebuild(request: RequestT, masked: Iterator[str]) -> RequestT:
    """A copy of ``request`` with its texts, in ``_texts`` order, replaced by ``masked``."""
    if isinstance(request, ChatRequest):
        messages: list[ChatMessage] = []
        for message in request.messages:
            content: Any = message.content
            if isinstance(content, str):
                content = next(masked)
            elif isinstance(content, list):
                content = [
                    {**part, "text": next(masked)} if isinstance(part.get("text"), str) else part
                    for part in content
                ]
            update: dict[str, Any] = {"content": content}
            if message.tool_calls:
                update["tool_calls"] = [
                    call.model_copy(
                        update={
                            "function": call.function.model_copy(update={"arguments": next(masked)})
                        }
                    )
                    for call in message.tool_calls
                ]
            messages.append(message.model_copy(update=update))
        return request.model_copy(update={"messages": messages})
    if isinstance(request, CompletionRequest):
        prompt: Any = request.prompt
        prompt = next(masked) if isinstance(prompt, str) else [next(masked) for _ in prompt]
        return request.model_copy(update={"prompt": prompt})
    if isinstance(request, (EmbeddingRequest, ClassificationRequest)):
        texts: Any = request.input
        texts = next(masked) if isinstance(texts, str) else [next(masked) for _ in texts]
        return cast(RequestT, request.model_copy(update={"input": texts}))
    if isinstance(request, RerankRequest):
        query = next(masked)
        documents = [next(masked) for _ in request.documents]
        return cast(RequestT, request.model_copy(update={"query": query, "documents": documents}))
    if isinstance(request, SimilarityRequest):
        source = next(masked)
        sentences = [next(masked) for _ in request.sentences]
        return cast(RequestT, request.model_copy(update={"source": source, "sentences": sentences}))
    return request


def mask_request(session: Session, request: RequestT) -> RequestT:
    return _rebuild(request, iter([session.mask(text) for text in _texts(request)]))


async def amask_request(session: Session, request: RequestT) -> RequestT:
    masked = [await session.amask(text) for text in _texts(request)]
    return _rebuild(request, iter(masked))


def restore_result(session: Session, result: Result) -> None:
    """Put the values back into the answer's texts, in place."""
    if not session.restores:
        return
    if isinstance(result, ChatResponse):
        for choice in result.choices:
            if isinstance(choice.message.content, str):
                choice.message.content = session.restore(choice.message.content)
            for call in choice.message.tool_calls or []:
                call.function.arguments = _restore_arguments(session, call.function.arguments)
    elif isinstance(result, Completion):
        result.texts = [session.restore(text) for text in result.texts]


def _restore_arguments(session: Session, arguments: str) -> str:
    """A tool call's JSON arguments with the values put back inside its strings, so a value
    with a quote or backslash cannot break the JSON (raw text when it is not JSON)."""
    try:
        decoded = json.loads(arguments)
    except ValueError:
        return session.restore(arguments)

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return session.restore(node)
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        return node

    return json.dumps(walk(decoded), ensure_ascii=False)


class ChunkRestorer:
    """Restores a streamed answer chunk by chunk: a placeholder split across chunks is held
    back until it is whole (the session's restorer buffers only what could be one). Each
    choice (``chunk.index``, ``n=2``) has its own restorer, as its pieces interleave with the
    other choice's."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._restores = session.restores
        self._restorers: dict[int, Restorer] = {}
        self._last: dict[int, Result] = {}

    def chunk(self, chunk: ChunkT) -> ChunkT:
        text = getattr(chunk, "text", None)
        if not self._restores or not isinstance(text, str):
            return chunk
        index = getattr(chunk, "index", 0)
        restorer = self._restorers.get(index)
        if restorer is None:
            restorer = self._restorers[index] = self._session.stream_restorer()
        restored = restorer.feed(text)
        if getattr(chunk, "finish_reason", None) is not None:
            restored += restorer.flush()
        self._last[index] = chunk
        return chunk.model_copy(update={"text": restored})

    def leftover(self) -> Result | None:
        """At the end of a stream that never said it finished: what is still held back, one
        chunk per call (one per choice that holds something back)."""
        while self._last:
            index = min(self._last)
            last = self._last.pop(index)
            text = self._restorers[index].flush()
            if text:
                return last.model_copy(update={"text": text, "finish_reason": None, "usage": None})
        return None

    def restore_final(self, result: Result) -> None:
        """The tool calls of a stream's joined answer: their argument pieces were sent
        masked and are restored once whole."""
        if not self._restores or not isinstance(result, ChatResponse):
            return
        for choice in result.choices:
            for call in choice.message.tool_calls or []:
                call.function.arguments = _restore_arguments(self._session, call.function.arguments)
