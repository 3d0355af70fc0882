"""KServe v2 / Open Inference Protocol routes under ``/v2`` (what Triton's clients speak).

Server and model metadata, health, readiness, Triton's repository index, ``infer`` (JSON and
binary tensors, see ``_tensors``) and Triton's generate extension. Errors render as KServe's
``{"error": "..."}`` (the shape is registered for ``/v2`` in ``errors``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..._json import JSONResponse
from ...errors import bad_request
from ...openapi import documented
from ...repository import ModelStatus
from ...state import get_state
from ..requests import read_json_object
from . import _models, generate, infer


@documented(tags=["kserve"])
async def server_metadata(request: Request) -> Response:
    """Server name, version and the protocol extensions it supports."""
    return JSONResponse(_models.server_metadata())


async def server_live(request: Request) -> Response:
    """Liveness: the process answers HTTP."""
    return JSONResponse({"live": True})


async def server_ready(request: Request) -> Response:
    """Readiness: every model finished loading and one at least serves."""
    ready = get_state(request).repository.ready
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


@documented(tags=["kserve"])
async def model_metadata(request: Request) -> Response:
    """A model's versions, input and output tensors, and its labels or dimensions."""
    return JSONResponse(_models.model_metadata(_models.model_entry(request)))


async def model_ready(request: Request) -> Response:
    """200 when the model serves, 503 while it loads."""
    entry = _models.model_entry(request, ready=False)
    ready = entry.status is ModelStatus.READY
    return JSONResponse({"name": entry.name, "ready": ready}, status_code=200 if ready else 503)


@documented(tags=["kserve"])
async def repository_index(request: Request) -> Response:
    """Every model of the repository with its state (Triton's repository extension)."""
    body = await request.body()
    ready_only = False
    if body.strip():
        payload = await read_json_object(request)
        ready_only = payload.get("ready", False)
        if not isinstance(ready_only, bool):
            raise bad_request("'ready' must be true or false.")
    return JSONResponse(_models.repository_index(request, ready_only))


def routes() -> list[BaseRoute]:
    model = "/v2/models/{model}"
    versioned = "/v2/models/{model}/versions/{version}"
    table: list[BaseRoute] = [
        Route("/v2", server_metadata, methods=["GET"]),
        Route("/v2/health/live", server_live, methods=["GET"]),
        Route("/v2/health/ready", server_ready, methods=["GET"]),
        Route("/v2/repository/index", repository_index, methods=["POST"]),
    ]
    for prefix, suffix in ((model, ""), (versioned, "_version")):
        table += [
            Route(prefix, model_metadata, methods=["GET"], name=f"v2_metadata{suffix}"),
            Route(f"{prefix}/ready", model_ready, methods=["GET"], name=f"v2_ready{suffix}"),
            Route(f"{prefix}/infer", infer.infer, methods=["POST"], name=f"v2_infer{suffix}"),
            Route(
                f"{prefix}/generate",
                generate.generate,
                methods=["POST"],
                name=f"v2_generate{suffix}",
            ),
            Route(
                f"{prefix}/generate_stream",
                generate.generate_stream,
                methods=["POST"],
                name=f"v2_generate_stream{suffix}",
            ),
        ]
    return table
