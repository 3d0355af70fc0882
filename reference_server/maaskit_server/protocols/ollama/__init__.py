"""Ollama's native API under ``/api``: chat, generate, embed (and the legacy embeddings),
the model list (``/api/tags``), ``/api/show`` and ``/api/version``.

Models are listed as ``name:latest`` (Ollama's implicit tag) and accepted with or without
it. Errors render as Ollama's ``{"error": "..."}`` (the shape is registered for ``/api``).
"""

from __future__ import annotations

import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ... import __version__
from ..._json import JSONResponse
from ...errors import APIError, model_not_found, register_error_shape
from ...openapi import documented
from ...repository import ModelEntry, ModelStatus, failed_to_load, still_loading
from ...state import get_state
from ..requests import read_json_object
from . import embed, generation
from ._options import listed_name, model_name

_CAPABILITIES = {"text-generation": ["completion"], "embeddings": ["embedding"]}


def ollama_shape(error: APIError) -> dict[str, Any]:
    return {"error": error.message}


def _details(entry: ModelEntry) -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "onnx",
        "family": str(entry.spec.config.get("model_type", "")) if entry.spec else "",
        "families": None,
        "parameter_size": "",
        "quantization_level": "",
    }


def _modified_at(entry: ModelEntry) -> str:
    stamp = (entry.path / "model.onnx").stat().st_mtime
    return datetime.datetime.fromtimestamp(stamp, tz=datetime.timezone.utc).isoformat()


@documented(tags=["ollama"])
async def tags(request: Request) -> Response:
    """The models that serve, as ``name:latest``."""
    models = [
        {
            "name": listed_name(entry.name),
            "model": listed_name(entry.name),
            "modified_at": _modified_at(entry),
            "size": entry.size_bytes,
            "digest": "",
            "details": _details(entry),
        }
        for entry in get_state(request).repository.ready_entries()
    ]
    return JSONResponse({"models": models})


async def version(request: Request) -> Response:
    """The server's version."""
    return JSONResponse({"version": __version__})


# Ollama's other fields (verbose, system, template, options) change nothing here: ignored.
SHOW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["model"],
    "properties": {"model": {"type": "string"}},
}


@documented(request=SHOW_SCHEMA, tags=["ollama"])
async def show(request: Request) -> Response:
    """A model's details, limits and capabilities."""
    body = await read_json_object(request)
    name = model_name(body)
    entry = next((e for e in get_state(request).repository.entries() if e.name == name), None)
    if entry is None:
        raise model_not_found(name)
    # As every other route answers a configured model that does not serve (and as the
    # Ollama routes that run one already did): 503 with the reason, not 404.
    if entry.status in (ModelStatus.FAILED, ModelStatus.UNSUPPORTED):
        raise failed_to_load(entry)
    if entry.status is not ModelStatus.READY:
        raise still_loading(entry)
    info = {f"maaskit.{key}": value for key, value in entry.details.items()}
    return JSONResponse(
        {
            "modelfile": "",
            "parameters": "",
            "template": "",
            "details": _details(entry),
            "model_info": {"general.architecture": entry.task, **info},
            "capabilities": _CAPABILITIES.get(entry.task, []),
            "modified_at": _modified_at(entry),
        }
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/api/chat", generation.chat, methods=["POST"], name="ollama_chat"),
        Route("/api/generate", generation.generate, methods=["POST"], name="ollama_generate"),
        Route("/api/embed", embed.embed, methods=["POST"], name="ollama_embed"),
        Route("/api/embeddings", embed.embeddings, methods=["POST"], name="ollama_embeddings"),
        Route("/api/tags", tags, methods=["GET"], name="ollama_tags"),
        Route("/api/show", show, methods=["POST"], name="ollama_show"),
        Route("/api/version", version, methods=["GET"], name="ollama_version"),
    ]


register_error_shape("/api", ollama_shape)
