"""The OpenAI-compatible protocol (OpenAI, Azure OpenAI, vLLM, TGI /v1, Ollama /v1, …).

Classification uses vLLM's ``POST /classify``: ``{"model", "input"}`` →
``{"data": [{"index", "label", "probs", "num_classes"}], "usage"}``. vLLM names only the top
label, so ``scores`` then holds that label alone; when the answer lists every label name in
class order (``"labels"``, as the maaskit reference server sends, per item or top level),
``scores`` maps every label to its probability.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from .._http import HttpRequest, HttpResponse
from .._sse import SSEParser
from .._tasks import CHAT, CLASSIFY, COMPLETE, EMBED, MODELS, Task
from ..types import (
    ChatChoice,
    ChatChunk,
    ChatMessage,
    ChatRequest,
    ChatResponse,
    ChoiceLogprobs,
    ClassificationRequest,
    ClassificationResponse,
    ClassificationResult,
    Completion,
    CompletionChunk,
    CompletionLogprobs,
    CompletionRequest,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelInfo,
    ModelList,
    Result,
    ToolCallDelta,
    Usage,
)
from . import _ranking as ranking
from ._base import Provider, StreamDecoder
from ._parsing import (
    decode_base64_floats,
    error_message_from_body,
    in_band_error,
    load_json,
    parse_with,
)

__all__ = ["OpenAIProvider", "SSEJsonDecoder"]

ChunkT = TypeVar("ChunkT", bound=Result)
ResultT = TypeVar("ResultT", bound=Result)


def _usage(payload: Mapping[str, Any]) -> Usage | None:
    usage = payload.get("usage")
    return Usage.model_validate(usage) if isinstance(usage, Mapping) else None


def _chat(payload: Any) -> ChatResponse:
    choices = [
        ChatChoice(
            index=c.get("index", i),
            # Some servers omit the role of the answer; it can only be the assistant's.
            message=ChatMessage.model_validate({"role": "assistant", **c["message"]}),
            finish_reason=c.get("finish_reason"),
            logprobs=_chat_logprobs(c),
        )
        for i, c in enumerate(payload["choices"])
    ]
    return ChatResponse(
        id=payload.get("id"),
        model=payload.get("model"),
        created=payload.get("created"),
        system_fingerprint=payload.get("system_fingerprint"),
        choices=choices,
        usage=_usage(payload),
        raw=payload,
    )


def _chat_logprobs(choice: Mapping[str, Any]) -> ChoiceLogprobs | None:
    logprobs = choice.get("logprobs")
    return ChoiceLogprobs.model_validate(logprobs) if isinstance(logprobs, Mapping) else None


def _completion_logprobs(choice: Mapping[str, Any]) -> CompletionLogprobs | None:
    logprobs = choice.get("logprobs")
    return CompletionLogprobs.model_validate(logprobs) if isinstance(logprobs, Mapping) else None


def _completion(payload: Any) -> Completion:
    choices = sorted(payload["choices"], key=lambda c: c.get("index", 0))
    return Completion(
        id=payload.get("id"),
        model=payload.get("model"),
        created=payload.get("created"),
        system_fingerprint=payload.get("system_fingerprint"),
        texts=[c["text"] for c in choices],
        finish_reasons=[c.get("finish_reason") for c in choices],
        logprobs=[_completion_logprobs(c) for c in choices],
        usage=_usage(payload),
        raw=payload,
    )


def _vector(embedding: Any) -> list[float]:
    if isinstance(embedding, str):
        return decode_base64_floats(embedding)
    if not isinstance(embedding, list):
        raise TypeError(f"an embedding must be a list or base64 string, not {type(embedding)}")
    return [float(x) for x in embedding]


def _embeddings(payload: Any) -> EmbeddingResponse:
    items = sorted(payload["data"], key=lambda item: item.get("index", 0))
    return EmbeddingResponse(
        model=payload.get("model"),
        vectors=[_vector(item["embedding"]) for item in items],
        usage=_usage(payload),
        raw=payload,
    )


def _classification_result(item: Mapping[str, Any], labels: Any) -> ClassificationResult:
    probs = [float(p) for p in item.get("probs") or []]
    names = item.get("labels", labels)
    label = item.get("label")
    if isinstance(names, list) and len(names) == len(probs) and probs:
        scores = {str(name): p for name, p in zip(names, probs, strict=True)}
        if label is None:
            label = max(scores, key=scores.__getitem__)
        score = scores[str(label)]
    else:
        if label is None or not probs:
            raise ValueError("a classification item needs a label and its probs")
        # vLLM's label is the arg-max class, so its probability is the largest one.
        score = max(probs)
        scores = {str(label): score}
    return ClassificationResult(
        index=int(item.get("index", 0)), label=str(label), score=score, scores=scores, probs=probs
    )


def _classification(payload: Any) -> ClassificationResponse:
    items = sorted(payload["data"], key=lambda item: item.get("index", 0))
    labels = payload.get("labels")
    return ClassificationResponse(
        model=payload.get("model"),
        results=[_classification_result(item, labels) for item in items],
        usage=_usage(payload),
        raw=payload,
    )


def _models(payload: Any) -> ModelList:
    return ModelList(
        data=[
            ModelInfo(
                id=m["id"],
                owned_by=m.get("owned_by"),
                created=m.get("created"),
                price_per_million_tokens=m.get("price_per_million_tokens"),
                raw=m,
            )
            for m in payload["data"]
        ],
        raw=payload,
    )


def _choices_of(payload: Any) -> list[Mapping[str, Any]]:
    """The choices of one stream event; an event without any (the ``include_usage`` chunk)
    still becomes one chunk, so its usage is seen."""
    choices = payload.get("choices") or []
    if not isinstance(choices, list):
        raise TypeError("choices must be a list")
    return choices or [{}]


def _chat_chunks(payload: Any) -> list[ChatChunk]:
    # One chunk per choice: with n=2 an event may carry a piece of each answer.
    chunks: list[ChatChunk] = []
    for position, choice in enumerate(_choices_of(payload)):
        delta = choice.get("delta") or {}
        chunks.append(
            ChatChunk(
                id=payload.get("id"),
                model=payload.get("model"),
                created=payload.get("created"),
                system_fingerprint=payload.get("system_fingerprint"),
                index=choice.get("index", position),
                text=delta.get("content") or "",
                role=delta.get("role"),
                refusal=delta.get("refusal"),
                tool_calls=[
                    ToolCallDelta.model_validate(call) for call in delta.get("tool_calls") or []
                ],
                logprobs=_chat_logprobs(choice),
                finish_reason=choice.get("finish_reason"),
                usage=_usage(payload),
                raw=payload,
            )
        )
    return chunks


def _completion_chunks(payload: Any) -> list[CompletionChunk]:
    return [
        CompletionChunk(
            id=payload.get("id"),
            model=payload.get("model"),
            created=payload.get("created"),
            system_fingerprint=payload.get("system_fingerprint"),
            index=choice.get("index", position),
            text=choice.get("text") or "",
            logprobs=_completion_logprobs(choice),
            finish_reason=choice.get("finish_reason"),
            usage=_usage(payload),
            raw=payload,
        )
        for position, choice in enumerate(_choices_of(payload))
    ]


class SSEJsonDecoder(StreamDecoder[ChunkT]):
    """SSE whose ``data`` is one JSON object per event, ended by ``data: [DONE]``. ``build``
    turns one event into a chunk, or into several (one per choice)."""

    def __init__(self, what: str, build: Callable[[Any], ChunkT | list[ChunkT]]) -> None:
        self._what = what
        self._build = build
        self._sse = SSEParser()
        self.done = False

    def feed(self, data: bytes) -> list[ChunkT]:
        return self._chunks(self._sse.feed(data))

    def close(self) -> list[ChunkT]:
        return self._chunks(self._sse.flush())

    def _chunks(self, events: list[Any]) -> list[ChunkT]:
        chunks: list[ChunkT] = []
        if self.done:
            return chunks
        for event in events:
            data: str = event.data
            if not data.strip():
                continue
            if data.strip() == "[DONE]":
                self.done = True
                break
            body = data.encode()
            payload = load_json(body)
            if isinstance(payload, Mapping) and payload.get("error") is not None:
                self.defer(in_band_error(payload, data))
                # Nothing after an error event counts.
                self.done = True
                break
            built = parse_with(self._what, body, payload, self._build)
            chunks.extend(built if isinstance(built, list) else [built])
        return chunks


_PATHS: dict[str, tuple[str, str]] = {
    CHAT.name: ("POST", "chat/completions"),
    COMPLETE.name: ("POST", "completions"),
    EMBED.name: ("POST", "embeddings"),
    CLASSIFY.name: ("POST", "classify"),
    MODELS.name: ("GET", "models"),
}

_PARSERS: dict[str, Callable[[Any], Result]] = {
    CHAT.name: _chat,
    COMPLETE.name: _completion,
    EMBED.name: _embeddings,
    CLASSIFY.name: _classification,
    MODELS.name: _models,
}

_CHUNK_PARSERS: dict[str, Callable[[Any], list[Any]]] = {
    CHAT.name: _chat_chunks,
    COMPLETE.name: _completion_chunks,
}


class OpenAIProvider(Provider):
    name = "openai"

    def supports(self, task: Task[Any, Any, Any]) -> bool:
        return task.name in _PATHS or task in ranking.RANKING_TASKS

    def build_request(self, task: Task[Any, Any, Any], request: Any) -> HttpRequest:
        if task in ranking.RANKING_TASKS:  # vLLM's /v1/rerank and /v1/score
            return ranking.vllm_request(request)
        if task.name not in _PATHS:
            raise NotImplementedError(f"the openai provider has no {task.name!r} task")
        method, path = _PATHS[task.name]
        return HttpRequest(method=method, path=path, json=self._body(request))

    def _body(self, request: Any) -> Any:
        if isinstance(request, ChatRequest):
            messages = [m.model_dump(exclude_none=True) for m in request.messages]
            body = {"model": request.model, "messages": messages, **request.params}
        elif isinstance(request, CompletionRequest):
            body = {"model": request.model, "prompt": request.prompt, **request.params}
        elif isinstance(request, (EmbeddingRequest, ClassificationRequest)):
            body = {"model": request.model, "input": request.input, **request.params}
        else:
            return None
        if getattr(request, "stream", False):
            body["stream"] = True
        return body

    def parse_response(self, task: Task[Any, ResultT, Any], response: HttpResponse) -> ResultT:
        if task in ranking.RANKING_TASKS:
            return cast(ResultT, ranking.parse_vllm(task, response))
        payload = load_json(response.body)
        result = parse_with(task.name, response.body, payload, _PARSERS[task.name])
        return cast(ResultT, result)

    def stream_decoder(self, task: Task[Any, Any, ChunkT]) -> StreamDecoder[ChunkT]:
        if task.name not in _CHUNK_PARSERS:
            raise NotImplementedError(f"the openai provider cannot stream {task.name!r}")
        build = cast(Callable[[Any], list[ChunkT]], _CHUNK_PARSERS[task.name])
        return SSEJsonDecoder(task.name, build)

    def error_message(self, response: HttpResponse) -> str | None:
        return error_message_from_body(response.body)
