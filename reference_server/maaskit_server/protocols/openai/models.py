"""``GET /v1/models`` and ``GET /v1/models/{model}``: the models that are ready to serve."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..._json import JSONResponse
from ...errors import model_not_found
from ...openapi import documented
from ...repository import ModelEntry, ModelStatus
from ...state import get_state

MODEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "model"},
        "created": {"type": "integer"},
        "owned_by": {"type": "string"},
        "task": {"type": "string"},
    },
}


def model_card(entry: ModelEntry, created: int) -> dict[str, Any]:
    card: dict[str, Any] = {
        "id": entry.name,
        "object": "model",
        "created": created,
        "owned_by": "maaskit",
        "task": entry.task,
    }
    if entry.spec is not None:
        card["description"] = entry.spec.description
        card["price_per_million_tokens"] = entry.spec.price_per_million_tokens
    card.update(entry.details)
    if entry.task == "embeddings":
        # /v1/score and /v1/rerank on this model are cosines of its own embeddings.
        card["scoring"] = "bi-encoder cosine"
    return card


@documented(
    response={"type": "object", "properties": {"data": {"type": "array", "items": MODEL_SCHEMA}}},
    tags=["openai"],
)
async def list_models(request: Request) -> Response:
    """List the models that are ready to serve."""
    state = get_state(request)
    created = int(state.started_at)
    data = [model_card(entry, created) for entry in state.repository.ready_entries()]
    return JSONResponse({"object": "list", "data": data})


@documented(response=MODEL_SCHEMA, tags=["openai"])
async def retrieve_model(request: Request) -> Response:
    """Describe one model."""
    state = get_state(request)
    name = str(request.path_params["model"])
    entry = next((e for e in state.repository.entries() if e.name == name), None)
    if entry is None or entry.status is not ModelStatus.READY:
        raise model_not_found(name)
    return JSONResponse(model_card(entry, int(state.started_at)))


def routes() -> list[BaseRoute]:
    return [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", retrieve_model, methods=["GET"]),
    ]
