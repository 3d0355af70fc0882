"""Operational routes: liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .._json import JSONResponse
from ..metrics import metrics_endpoint
from ..openapi import openapi_document
from ..security import AUTHORISED
from ..state import get_state


async def health(request: Request) -> Response:
    """Liveness: the process answers HTTP."""
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    """Readiness: 200 once every model finished loading and answered a real tiny inference.

    503 with ``"loading"`` before that, ``"no models"`` when loading finished and no model
    serves (an empty folder, or every model failed to load).

    Open to probes, which send no key; the models are named only to a caller with a valid key
    (or on a server without keys), and then only the ones that key may use.
    """
    repository = get_state(request).repository
    models = {}
    if AUTHORISED.get():
        models = {entry.name: entry.summary() for entry in repository.entries()}
    if repository.ready:
        return JSONResponse({"status": "ready", "models": models})
    if repository.loading_finished.is_set():
        # Loading is over and nothing serves: an empty folder or only broken models. Saying
        # "loading" here would make a probe wait forever.
        return JSONResponse({"status": "no models", "models": models}, status_code=503)
    return JSONResponse({"status": "loading", "models": models}, status_code=503)


async def openapi(request: Request) -> Response:
    """The OpenAPI document describing every route of this server."""
    return JSONResponse(openapi_document(request.app.routes))


def routes() -> list[BaseRoute]:
    return [
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    ]
