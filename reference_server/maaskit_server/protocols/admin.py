"""Test-only admin routes under ``/_maaskit``: the fault script and the idempotency counters.

They exist only on a server started with ``--enable-faults`` (404 otherwise) and need the
admin key (``--fault-admin-key``) in ``X-MaaSKit-Admin-Key``, on top of the API key when the
server has API keys. The fault grammar is documented in :mod:`maaskit_server.faults`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .._json import JSONResponse
from ..errors import APIError, bad_request
from ..faults import ADMIN_PREFIX, FaultController, FaultSyntaxError
from ..idempotency import IdempotencyStore
from .requests import read_json_object

ADMIN_KEY_HEADER = "x-maaskit-admin-key"


def _controller(request: Request) -> FaultController:
    controller: FaultController | None = getattr(request.app.state, "faults", None)
    if controller is None:
        # Indistinguishable from a server without these routes: nothing to probe for.
        raise APIError(404, "Not Found", type="not_found_error", code="not_found")
    if not controller.admin_enabled:
        raise APIError(
            403,
            "The fault admin routes need a server started with --fault-admin-key.",
            type="permission_error",
            code="admin_key_not_configured",
        )
    presented = request.headers.get(ADMIN_KEY_HEADER, "")
    if not presented or not controller.admin_key_is_valid(presented):
        raise APIError(
            401,
            f"Missing or incorrect admin key (send it in {ADMIN_KEY_HEADER}).",
            type="authentication_error",
            code="invalid_admin_key",
        )
    return controller


async def faults(request: Request) -> Response:
    """Read (GET), add to (POST), replace (PUT) or clear (DELETE) the fault script."""
    controller = _controller(request)
    if request.method == "DELETE":
        controller.clear()
    elif request.method in ("POST", "PUT"):
        body = await read_json_object(request)
        rules: Any = body.get("rules")
        if not isinstance(rules, list):
            raise bad_request("'rules' must be a list of rule objects.", param="rules")
        try:
            controller.add_rules(rules, replace=request.method == "PUT")
        except FaultSyntaxError as exc:
            message = f"Invalid fault rule: {exc}"
            raise bad_request(message, param="rules", code="invalid_fault") from exc
    return JSONResponse(controller.snapshot())


async def answers(request: Request) -> Response:
    """Read (GET), add to (POST), replace (PUT) or clear (DELETE) the scripted answers."""
    script = _controller(request).answers
    if request.method == "DELETE":
        script.clear()
    elif request.method in ("POST", "PUT"):
        body = await read_json_object(request)
        items: Any = body.get("answers")
        if not isinstance(items, list):
            raise bad_request("'answers' must be a list of answer objects.", param="answers")
        try:
            script.add(items, replace=request.method == "PUT")
        except FaultSyntaxError as exc:
            message = f"Invalid scripted answer: {exc}"
            raise bad_request(message, param="answers", code="invalid_answer") from exc
    return JSONResponse(script.snapshot())


async def idempotency(request: Request) -> Response:
    """Idempotency counters (executed, replayed, waited, conflict, duplicate_execution…)."""
    _controller(request)
    store: IdempotencyStore = request.app.state.idempotency
    return JSONResponse(store.stats())


def routes() -> list[BaseRoute]:
    return [
        Route(
            f"{ADMIN_PREFIX}/answers",
            answers,
            methods=["GET", "POST", "PUT", "DELETE"],
            include_in_schema=False,
        ),
        Route(
            f"{ADMIN_PREFIX}/faults",
            faults,
            methods=["GET", "POST", "PUT", "DELETE"],
            include_in_schema=False,
        ),
        Route(f"{ADMIN_PREFIX}/idempotency", idempotency, methods=["GET"], include_in_schema=False),
    ]
