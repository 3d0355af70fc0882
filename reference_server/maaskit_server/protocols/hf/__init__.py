"""Hugging Face routes: every model is an endpoint at ``/models/{name}``.

``POST /models/{name}`` is the Inference API task route (classification, feature extraction,
text generation); TGI's ``/generate``, ``/generate_stream`` and ``/v1/chat/completions`` and
TEI's ``/embed`` and ``/predict`` hang below it, with ``GET /info``. Errors render as TGI's
``{"error": "...", "error_type": "..."}``; a model still loading answers 503 with the
Inference API's ``estimated_time``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..._json import dumps
from ...errors import APIError, register_error_shape
from ...openapi import documented
from ..openai.chat import CHAT_REQUEST_SCHEMA, create_chat_completion
from ..requests import read_json_object
from . import generate, tasks

_ERROR_TYPES = {401: "authentication", 404: "not_found", 413: "validation", 429: "overloaded"}


def hf_shape(error: APIError) -> dict[str, Any]:
    if error.type == "validation" or error.status_code < 500:
        kind = _ERROR_TYPES.get(error.status_code, "validation")
    else:
        kind = "generation"
    body: dict[str, Any] = {"error": error.message, "error_type": kind}
    if error.code == "model_loading":
        body["estimated_time"] = float(error.headers.get("Retry-After", "1"))
    return body


# The OpenAI chat body, but the model is the path's: the body's is not read (any value).
_CHAT_SCHEMA: dict[str, Any] = {
    **CHAT_REQUEST_SCHEMA,
    "required": [name for name in CHAT_REQUEST_SCHEMA.get("required", []) if name != "model"],
    "properties": {**CHAT_REQUEST_SCHEMA["properties"], "model": {}},
}


@documented(request=_CHAT_SCHEMA, response={"type": "object"}, tags=["hf"])
async def chat_completions(request: Request) -> Response:
    """OpenAI chat for this endpoint's model (TGI's Messages API); the body's model is ignored."""
    body = await read_json_object(request)
    body["model"] = str(request.path_params["model"])
    payload = dumps(body)
    sent = False

    async def receive() -> Any:
        # The rewritten body first; later reads (disconnect watching) go to the real client.
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}
        return await request.receive()

    return await create_chat_completion(Request(request.scope, receive))


def routes() -> list[BaseRoute]:
    base = "/models/{model}"
    return [
        Route(base, tasks.task, methods=["POST"], name="hf_task"),
        Route(f"{base}/info", tasks.info, methods=["GET"], name="hf_info"),
        Route(f"{base}/embed", tasks.embed, methods=["POST"], name="hf_embed"),
        Route(f"{base}/predict", tasks.predict, methods=["POST"], name="hf_predict"),
        Route(f"{base}/generate", generate.generate, methods=["POST"], name="hf_generate"),
        Route(
            f"{base}/generate_stream",
            generate.generate_stream,
            methods=["POST"],
            name="hf_generate_stream",
        ),
        Route(f"{base}/v1/chat/completions", chat_completions, methods=["POST"], name="hf_chat"),
    ]


register_error_shape("/models", hf_shape)
