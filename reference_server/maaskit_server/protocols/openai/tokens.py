"""vLLM's ``POST /tokenize`` and ``POST /detokenize`` (also under ``/v1``) for generation models."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..._json import JSONResponse
from ...errors import bad_request
from ...generation.errors import ChatTemplateError
from ...openapi import documented
from ...runtimes.generation import GenerationRuntime
from ...state import get_state
from ..requests import chat_messages, integral, read_json_object, required_string
from . import _fields


@documented(
    request={
        "type": "object",
        "required": ["model"],
        "properties": {
            "model": {"type": "string"},
            "prompt": {"description": "A string; not read when messages are given."},
            "messages": _fields.MESSAGES_SCHEMA,
            "add_generation_prompt": {"type": "boolean"},
        },
        # Messages when they are given (not null), else a prompt.
        "anyOf": [
            {"required": ["messages"], "properties": {"messages": {"type": "array"}}},
            {"required": ["prompt"], "properties": {"prompt": {"type": "string"}}},
        ],
    },
    response={
        "type": "object",
        "properties": {
            "tokens": {"type": "array", "items": {"type": "integer"}},
            "count": {"type": "integer"},
            "max_model_len": {"type": "integer"},
        },
    },
    tags=["vllm"],
)
async def tokenize(request: Request) -> Response:
    """Token ids of a prompt (or of chat messages rendered with the chat template)."""
    state = get_state(request)
    body = await read_json_object(request)
    model = required_string(body, "model")
    runtime = state.repository.runtime(model, GenerationRuntime)
    if body.get("messages") is not None:
        messages = chat_messages(body["messages"])
        add_prompt = body.get("add_generation_prompt")
        if add_prompt is not None and not isinstance(add_prompt, bool):
            message = "'add_generation_prompt' must be true or false."
            raise bad_request(message, param="add_generation_prompt", code="invalid_type")
        try:
            text = runtime.engine.chat_template.render(
                messages, add_generation_prompt=True if add_prompt is None else bool(add_prompt)
            )
        except ChatTemplateError as exc:
            raise bad_request(exc.message, param="messages", code="chat_template_error") from exc
    else:
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            message = "'prompt' (a string) or 'messages' is required."
            raise bad_request(message, param="prompt", code="invalid_type")
        text = prompt
    tokens = await runtime.encode(text)
    return JSONResponse(
        {"tokens": tokens, "count": len(tokens), "max_model_len": runtime.max_context_tokens}
    )


@documented(
    request={
        "type": "object",
        "required": ["model", "tokens"],
        "properties": {
            "model": {"type": "string"},
            # Below the model's vocabulary size too (GET /v1/models does not say it).
            "tokens": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        },
    },
    response={"type": "object", "properties": {"prompt": {"type": "string"}}},
    tags=["vllm"],
)
async def detokenize(request: Request) -> Response:
    """The text of a list of token ids."""
    state = get_state(request)
    body = await read_json_object(request)
    model = required_string(body, "model")
    runtime = state.repository.runtime(model, GenerationRuntime)
    raw: Any = body.get("tokens")
    vocab = runtime.engine.tokenizer.get_vocab_size(with_added_tokens=True)
    # Integral floats (5.0) are token ids too: JSON Schema's integer and vLLM both accept them.
    read = [integral(t) for t in raw] if isinstance(raw, list) else [None]
    tokens = [t for t in read if t is not None and 0 <= t < vocab]
    if len(tokens) != len(read):
        message = f"'tokens' must be a list of token ids between 0 and {vocab - 1}."
        raise bad_request(message, param="tokens", code="invalid_type")
    return JSONResponse({"prompt": runtime.engine.decode(tokens)})


def routes() -> list[BaseRoute]:
    return [
        Route("/tokenize", tokenize, methods=["POST"]),
        Route("/detokenize", detokenize, methods=["POST"]),
        Route("/v1/tokenize", tokenize, methods=["POST"]),
        Route("/v1/detokenize", detokenize, methods=["POST"]),
    ]
