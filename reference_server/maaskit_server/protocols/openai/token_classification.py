"""``POST /v1/token-classification``: named entities in an OpenAI-style envelope.

OpenAI has no NER endpoint and vLLM's ``/pooling`` returns raw per-token vectors, so this
route is maaskit's own: the ``/v1/classify`` envelope (``object: "list"``, ``data`` with an
``index`` per input, ``usage``) around the Hugging Face pipeline's entities.

Body: ``{"model", "input": str | [str], "aggregation_strategy"?, "ignore_labels"?,
"stride"?}``. Each data item: ``{"index", "object": "token_classification", "entities":
[{"entity_group", "score", "word", "start", "end"}, ...]}``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..._json import JSONResponse
from ...errors import bad_request
from ...openapi import documented
from ...state import get_state
from .. import recognition
from ..requests import read_json_object, required_string

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": {"type": "string"},
        # The route refuses an empty list (below), as vLLM's pooling routes do.
        "input": {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "minItems": 1, "items": {"type": "string"}},
            ]
        },
        "aggregation_strategy": {"enum": ["none", "simple", "first", "average", "max"]},
        "ignore_labels": {"type": "array", "items": {"type": "string"}},
        "stride": {"type": "integer"},
    },
}
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "list"},
        "model": {"type": "string"},
        "data": {"type": "array"},
        "usage": {"type": "object"},
    },
}


@documented(request=REQUEST_SCHEMA, response=RESPONSE_SCHEMA, tags=["openai"])
async def token_classification(request: Request) -> Response:
    """Named entities of each input (persons, organisations, places for ``pii-ner``)."""
    body = await read_json_object(request)
    model = required_string(body, "model")
    raw = body.get("input")
    if raw is None:
        raise bad_request("Missing required parameter: 'input'.", param="input", code="missing")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise bad_request("'input' must be a string or a non-empty list of strings.", param="input")
    limit = get_state(request).settings.max_inputs_per_request
    if len(texts) > limit:
        raise bad_request(
            f"'input' has {len(texts)} items, more than the limit of {limit} inputs per request "
            "(max_inputs_per_request).",
            param="input",
            code="too_many_inputs",
        )
    kwargs = recognition.parse_parameters(body, bad_request)
    found, tokens = await recognition.recognise(request, model, texts, kwargs)
    data = [
        {"index": index, "object": "token_classification", "entities": entities}
        for index, entities in enumerate(found)
    ]
    return JSONResponse(
        {
            "id": f"tokcls-{uuid.uuid4().hex}",
            "object": "list",
            "created": int(time.time()),
            "model": model,
            "data": data,
            "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
        }
    )


def routes() -> list[BaseRoute]:
    return [Route("/v1/token-classification", token_classification, methods=["POST"])]
