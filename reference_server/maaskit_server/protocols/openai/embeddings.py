"""``POST /v1/embeddings`` (OpenAI), with float or base64 vectors."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..._json import JSONResponse
from ...errors import bad_request
from ...faults import scripted_vectors
from ...openapi import documented
from ...runtimes.embeddings import EmbeddingRuntime
from ...state import get_state
from ..requests import (
    TEXT_INPUTS_SCHEMA,
    TRUNCATE_PROMPT_TOKENS_SCHEMA,
    optional_string,
    read_json_object,
    required_string,
    text_inputs,
    truncation,
)

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": {"type": "string"},
        "input": TEXT_INPUTS_SCHEMA,
        "encoding_format": {"enum": ["float", "base64"]},
        "dimensions": {"type": "integer", "minimum": 1},
        "truncate_prompt_tokens": TRUNCATE_PROMPT_TOKENS_SCHEMA,
        "truncate": {"type": "boolean"},
        "user": {"type": "string"},
    },
}
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "object": {"const": "list"},
        "model": {"type": "string"},
        "data": {"type": "array"},
        "usage": {"type": "object"},
    },
}


@documented(request=REQUEST_SCHEMA, response=RESPONSE_SCHEMA, tags=["openai"])
async def create_embeddings(request: Request) -> Response:
    """Create embedding vectors for the input texts or token arrays."""
    state = get_state(request)
    body = await read_json_object(request)
    model = required_string(body, "model")
    runtime = state.repository.runtime(model, EmbeddingRuntime)
    inputs = text_inputs(body.get("input"), max_inputs=state.settings.max_inputs_per_request)
    optional_string(body, "user")
    # Only null reads as "not sent": false or "" were read as the default before.
    encoding_format = body.get("encoding_format")
    if encoding_format is None:
        encoding_format = "float"
    if encoding_format not in ("float", "base64"):
        raise bad_request("'encoding_format' must be 'float' or 'base64'.", param="encoding_format")
    dimensions = body.get("dimensions")
    if dimensions is not None and dimensions != runtime.dimensions:
        raise bad_request(
            f"model {model!r} produces {runtime.dimensions}-dimensional vectors and cannot "
            f"shorten them; omit 'dimensions' or set it to {runtime.dimensions}.",
            param="dimensions",
            code="unsupported_dimensions",
        )
    result = await runtime.embed(inputs, truncate_to=truncation(body, runtime.spec))
    vectors = scripted_vectors(request, model, list(result.vectors))  # --enable-faults only
    data = [
        {"object": "embedding", "index": index, "embedding": _encode(vector, encoding_format)}
        for index, vector in enumerate(vectors)
    ]
    usage = {"prompt_tokens": result.prompt_tokens, "total_tokens": result.prompt_tokens}
    return JSONResponse({"object": "list", "model": model, "data": data, "usage": usage})


def _encode(vector: np.ndarray[Any, Any], encoding_format: str) -> Any:
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    # orjson writes float32 arrays directly, in the shortest text that reads back to the same
    # float32: no list of Python floats to build, and fewer digits on the wire.
    return np.ascontiguousarray(vector, dtype=np.float32)


def routes() -> list[BaseRoute]:
    return [Route("/v1/embeddings", create_embeddings, methods=["POST"])]
