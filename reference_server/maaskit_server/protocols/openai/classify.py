"""``POST /v1/classify`` and ``POST /classify`` in vLLM's shape, with every label's probability.

Each data item carries vLLM's ``index``, ``label``, ``probs``, ``num_classes`` and, as an
extension the maaskit SDK reads, ``labels`` (all label names in class-id order).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..._json import JSONResponse
from ...faults import scripted_probabilities
from ...openapi import documented
from ...runtimes.classification import ClassificationRuntime
from ...state import get_state
from ..requests import (
    TEXT_INPUTS_SCHEMA,
    TRUNCATE_PROMPT_TOKENS_SCHEMA,
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
        "truncate_prompt_tokens": TRUNCATE_PROMPT_TOKENS_SCHEMA,
        "truncate": {"type": "boolean"},
    },
}
ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "index": {"type": "integer"},
        "label": {"type": "string"},
        "probs": {"type": "array", "items": {"type": "number"}},
        "num_classes": {"type": "integer"},
        "labels": {"type": "array", "items": {"type": "string"}},
    },
}
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "object": {"const": "list"},
        "created": {"type": "integer"},
        "model": {"type": "string"},
        "data": {"type": "array", "items": ITEM_SCHEMA},
        "usage": {"type": "object"},
    },
}


@documented(request=REQUEST_SCHEMA, response=RESPONSE_SCHEMA, tags=["openai", "vllm"])
async def classify(request: Request) -> Response:
    """Classify each input; every label's probability is returned (vLLM's shape)."""
    state = get_state(request)
    body = await read_json_object(request)
    model = required_string(body, "model")
    runtime = state.repository.runtime(model, ClassificationRuntime)
    inputs = text_inputs(body.get("input"), max_inputs=state.settings.max_inputs_per_request)
    result = await runtime.classify(inputs, truncate_to=truncation(body, runtime.spec))
    labels = list(runtime.labels)
    # Scripted labels: test servers only (--enable-faults).
    probabilities = scripted_probabilities(request, model, labels, list(result.probabilities))
    data = [
        {
            "index": index,
            "label": labels[int(np.argmax(probs))],
            "probs": probs.tolist(),
            "num_classes": len(labels),
            "labels": labels,
        }
        for index, probs in enumerate(probabilities)
    ]
    return JSONResponse(
        {
            "id": f"classify-{uuid.uuid4().hex}",
            "object": "list",
            "created": int(time.time()),
            "model": model,
            "data": data,
            "usage": {
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": 0,
                "total_tokens": result.prompt_tokens,
            },
        }
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/v1/classify", classify, methods=["POST"]),
        Route("/classify", classify, methods=["POST"], name="classify_vllm"),
    ]
