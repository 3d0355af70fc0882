"""Ollama's native API (``/api/...``).

Point it at an Ollama server's root (no ``/api`` suffix)::

    Client(provider="ollama", base_url="http://127.0.0.1:11434")

Routes: ``chat`` → ``POST /api/chat``, ``complete`` → ``POST /api/generate`` (one prompt per
call), ``embed`` → ``POST /api/embed``, ``models`` → ``GET /api/tags``. Classification is not an
Ollama task: ``supports(CLASSIFY)`` is false and ``classify()`` fails before any request.

Ollama streams unless told otherwise, so ``"stream"`` is always sent. Streams are NDJSON: one
JSON object per line, the last with ``"done": true``, ``done_reason`` (``stop`` / ``length``
become the ``finish_reason``) and the counts: ``prompt_eval_count`` and ``eval_count`` become
``usage.prompt_tokens`` / ``usage.completion_tokens``; the durations (nanoseconds:
``total_duration``, ``load_duration``, ``prompt_eval_duration``, ``eval_duration``) are in
``response.raw`` (and the last chunk's ``raw``). An ``{"error": …}`` line in a stream is raised
as a :class:`maaskit.ServerError` after the chunks before it.

Parameters: ``response_format`` → ``format`` (the JSON schema, or ``"json"``);
``max_tokens`` → ``options.num_predict``; ``temperature``, ``top_p``, ``top_k``,
``seed``, ``stop`` (a str or a list), ``presence_penalty``, ``frequency_penalty`` →
``options.*``; an explicit ``provider_params={"options": {...}}`` is merged over those. Any
other keyword in ``provider_params=`` (``format``, ``keep_alive``, ``think``, ``system``, ``raw``,
``truncate``…) and ``tools`` are sent at the top level unchanged. Tool calls come back with
their arguments as an object; maaskit gives them OpenAI's shape (a JSON string, and an id
``call_<n>`` when Ollama sent none) and turns them back when a conversation is sent. ``n``
other than 1 is refused: Ollama has one answer per call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from .._exceptions import InvalidRequestError
from .._http import HttpRequest, HttpResponse
from .._tasks import CHAT, COMPLETE, EMBED, MODELS, Task
from ..types import (
    ChatChoice,
    ChatChunk,
    ChatMessage,
    ChatRequest,
    ChatResponse,
    Completion,
    CompletionChunk,
    CompletionRequest,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelInfo,
    ModelList,
    Result,
    ToolCallDelta,
    Usage,
)
from ._base import Provider, StreamDecoder
from ._ndjson import NDJSONDecoder
from ._parsing import error_message_from_body, load_json, parse_with

__all__ = ["OllamaProvider"]

ChunkT = TypeVar("ChunkT", bound=Result)
ResultT = TypeVar("ResultT", bound=Result)

NDJSON = "application/x-ndjson"

# Neutral (OpenAI-style) parameter names and the Ollama option each one sets.
_OPTIONS = {
    "max_tokens": "num_predict",
    "max_completion_tokens": "num_predict",
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "seed": "seed",
    "stop": "stop",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
}


def ollama_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Split call keywords into Ollama's ``options`` object and top-level fields."""
    options: dict[str, Any] = {}
    top: dict[str, Any] = {}
    for key, value in params.items():
        if key == "options" or value is None:
            continue
        if key == "n":
            if value != 1:
                raise InvalidRequestError(
                    "the ollama provider returns one answer per call; n must be 1"
                )
            continue
        if key == "response_format":
            top["format"] = _format(value)
            continue
        if key in _OPTIONS:
            if key == "stop":
                value = _stop_list(value)
            options[_OPTIONS[key]] = value
        else:
            top[key] = value
    explicit = params.get("options")
    if explicit is not None:
        if not isinstance(explicit, Mapping):
            raise TypeError(f"options must be a dict, got {type(explicit).__name__}")
        options.update(explicit)
    if options:
        top["options"] = options
    return top


def _format(response_format: Mapping[str, Any]) -> Any:
    """OpenAI's ``response_format`` as Ollama's ``format``: a JSON schema, or ``"json"``."""
    kind = response_format.get("type")
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if isinstance(schema, Mapping):
            return dict(schema)
    if kind == "text":
        return None
    raise InvalidRequestError(
        "the ollama provider takes response_format {'type': 'json_object'} or "
        "{'type': 'json_schema', 'json_schema': {'schema': ...}}"
    )


def _stop_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(s, str) for s in value):
        return list(value)
    raise TypeError("stop must be a str or a list of str")


def _message(message: ChatMessage, index: int) -> dict[str, Any]:
    body = message.model_dump(exclude_none=True)
    if message.tool_calls:
        # Ollama's calls carry the arguments as an object, OpenAI's as a JSON string.
        body["tool_calls"] = [
            {"function": {"name": c.function.name, "arguments": c.function.parsed_arguments()}}
            for c in message.tool_calls
        ]
    content = message.content
    if content is None:
        body["content"] = ""
    elif isinstance(content, list):
        texts: list[str] = []
        for part in content:
            if part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ValueError(
                    f"messages[{index}]: ollama takes text content only; send images as "
                    "the message's 'images' list of base64 strings"
                )
            texts.append(part["text"])
        body["content"] = "".join(texts)
    return body


def _finish_reason(payload: Mapping[str, Any]) -> str | None:
    if not payload.get("done"):
        return None
    reason = payload.get("done_reason")
    # Ollama before 0.1.x sent no done_reason: a finished answer then means it stopped.
    return str(reason) if reason else "stop"


def _usage(payload: Mapping[str, Any]) -> Usage | None:
    if "prompt_eval_count" not in payload and "eval_count" not in payload:
        return None
    prompt = int(payload.get("prompt_eval_count") or 0)
    completion = int(payload.get("eval_count") or 0)
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


def _calls(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Ollama's ``tool_calls`` in OpenAI's shape: arguments as a JSON string, and an id
    (Ollama before 0.12 sent none; the position then names the call)."""
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise TypeError("tool_calls must be a list")
    found: list[dict[str, Any]] = []
    for position, call in enumerate(calls):
        function = call["function"]
        arguments = function.get("arguments")
        found.append(
            {
                "index": function.get("index", position),
                "id": call.get("id") or f"call_{position}",
                "type": "function",
                "function": {
                    "name": function["name"],
                    "arguments": arguments
                    if isinstance(arguments, str)
                    else json.dumps(arguments or {}),
                },
            }
        )
    return found


def _assistant(payload: Mapping[str, Any]) -> ChatMessage:
    message = payload["message"]
    if not isinstance(message, Mapping):
        raise TypeError("message must be an object")
    fields = {"role": "assistant", **message}
    if message.get("tool_calls"):
        fields["tool_calls"] = [
            {k: v for k, v in call.items() if k != "index"} for call in _calls(message)
        ]
    return ChatMessage.model_validate(fields)


def _chat(payload: Any) -> ChatResponse:
    choice = ChatChoice(index=0, message=_assistant(payload), finish_reason=_finish_reason(payload))
    return ChatResponse(
        model=payload.get("model"), choices=[choice], usage=_usage(payload), raw=payload
    )


def _completion(payload: Any) -> Completion:
    text = payload["response"]
    if not isinstance(text, str):
        raise TypeError("response must be a string")
    return Completion(
        model=payload.get("model"),
        texts=[text],
        finish_reasons=[_finish_reason(payload)],
        usage=_usage(payload),
        raw=payload,
    )


def _embeddings(payload: Any) -> EmbeddingResponse:
    vectors = [[float(x) for x in vector] for vector in payload["embeddings"]]
    usage = None
    if "prompt_eval_count" in payload:
        tokens = int(payload["prompt_eval_count"])
        usage = Usage(prompt_tokens=tokens, total_tokens=tokens)
    return EmbeddingResponse(model=payload.get("model"), vectors=vectors, usage=usage, raw=payload)


def _models(payload: Any) -> ModelList:
    return ModelList(
        data=[ModelInfo(id=str(m["name"]), raw=m) for m in payload["models"]], raw=payload
    )


def _chat_chunk(payload: Any) -> ChatChunk:
    message = payload.get("message") or {}
    return ChatChunk(
        model=payload.get("model"),
        text=message.get("content") or "",
        role=message.get("role"),
        # Ollama sends each call whole, in one chunk.
        tool_calls=[ToolCallDelta.model_validate(call) for call in _calls(message)],
        finish_reason=_finish_reason(payload),
        usage=_usage(payload) if payload.get("done") else None,
        raw=payload,
    )


def _completion_chunk(payload: Any) -> CompletionChunk:
    return CompletionChunk(
        model=payload.get("model"),
        text=payload.get("response") or "",
        finish_reason=_finish_reason(payload),
        usage=_usage(payload) if payload.get("done") else None,
        raw=payload,
    )


_PARSERS: dict[str, Callable[[Any], Result]] = {
    CHAT.name: _chat,
    COMPLETE.name: _completion,
    EMBED.name: _embeddings,
    MODELS.name: _models,
}

_CHUNK_PARSERS: dict[str, Callable[[Any], Result]] = {
    CHAT.name: _chat_chunk,
    COMPLETE.name: _completion_chunk,
}


class OllamaProvider(Provider):
    name = "ollama"

    def supports(self, task: Task[Any, Any, Any]) -> bool:
        return task.name in _PARSERS

    def build_request(self, task: Task[Any, Any, Any], request: Any) -> HttpRequest:
        if isinstance(request, ChatRequest) and task is CHAT:
            messages = [_message(m, i) for i, m in enumerate(request.messages)]
            body = {"model": request.model, "messages": messages, **ollama_params(request.params)}
            return self._post("api/chat", body, request.stream)
        if isinstance(request, CompletionRequest) and task is COMPLETE:
            prompt = request.prompt
            if isinstance(prompt, list):
                if len(prompt) != 1:
                    raise ValueError("the ollama provider completes one prompt per call")
                prompt = prompt[0]
            body = {"model": request.model, "prompt": prompt, **ollama_params(request.params)}
            return self._post("api/generate", body, request.stream)
        if isinstance(request, EmbeddingRequest) and task is EMBED:
            body = {"model": request.model, "input": request.input, **ollama_params(request.params)}
            return HttpRequest(method="POST", path="api/embed", json=body)
        if task is MODELS:
            return HttpRequest(method="GET", path="api/tags")
        raise NotImplementedError(
            f"the ollama provider has no {task.name!r} task (Ollama serves chat, complete, "
            "embed and models; use an openai or hf endpoint to classify)"
        )

    @staticmethod
    def _post(path: str, body: dict[str, Any], stream: bool) -> HttpRequest:
        # Ollama streams by default, so a plain call must say it does not want a stream.
        body["stream"] = stream
        headers = {"Accept": NDJSON} if stream else {}
        return HttpRequest(method="POST", path=path, json=body, headers=headers)

    def parse_response(self, task: Task[Any, ResultT, Any], response: HttpResponse) -> ResultT:
        if task.name not in _PARSERS:
            raise NotImplementedError(f"the ollama provider has no {task.name!r} task")
        payload = load_json(response.body)
        result = parse_with(task.name, response.body, payload, _PARSERS[task.name])
        return cast(ResultT, result)

    def stream_decoder(self, task: Task[Any, Any, ChunkT]) -> StreamDecoder[ChunkT]:
        if task.name not in _CHUNK_PARSERS:
            raise NotImplementedError(f"the ollama provider cannot stream {task.name!r}")
        build = cast(Callable[[Any], ChunkT], _CHUNK_PARSERS[task.name])
        return NDJSONDecoder(task.name, build, is_last=lambda payload: bool(payload.get("done")))

    def error_message(self, response: HttpResponse) -> str | None:
        return error_message_from_body(response.body)
