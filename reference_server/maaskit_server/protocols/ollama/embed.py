"""Ollama's ``POST /api/embed`` (``{"embeddings": [[...]]}``) and the legacy
``POST /api/embeddings`` (``{"prompt"}`` → ``{"embedding": [...]}``).

As in Ollama, ``truncate`` defaults to true (an over-long input is cut to the model's limit);
``"truncate": false`` makes it a 400 instead. ``dimensions`` may only be the model's own.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..._json import JSONResponse
from ...errors import bad_request
from ...faults import scripted_vectors
from ...openapi import documented
from ...runtimes.embeddings import EmbeddingRuntime
from ...state import get_state
from ..requests import TEXTS_ONLY_SCHEMA, read_json_object, text_inputs
from ._options import Timer, listed_name, model_name


@documented(
    request={
        "type": "object",
        "required": ["model", "input"],
        "properties": {
            "model": {"type": "string"},
            "input": TEXTS_ONLY_SCHEMA,
            "truncate": {"type": "boolean"},
        },
    },
    tags=["ollama"],
)
async def embed(request: Request) -> Response:
    """One L2-normalised vector per input."""
    state = get_state(request)
    body = await read_json_object(request)
    name = model_name(body)
    runtime = state.repository.runtime(name, EmbeddingRuntime)
    raw = body.get("input")
    if not (
        isinstance(raw, str) or (isinstance(raw, list) and all(isinstance(x, str) for x in raw))
    ):
        raise bad_request("input must be a string or a list of strings")
    inputs = text_inputs(raw, max_inputs=state.settings.max_inputs_per_request)
    # null is "not sent" (the document marks optional fields nullable): it answered 400.
    truncate = True if body.get("truncate") is None else body["truncate"]
    if not isinstance(truncate, bool):
        raise bad_request("truncate must be true or false")
    dimensions = body.get("dimensions")
    if dimensions is not None and dimensions != runtime.dimensions:
        raise bad_request(f"dimensions must be {runtime.dimensions} for this model")
    timer = Timer()
    result = await runtime.embed(
        inputs, truncate_to=runtime.spec.max_input_tokens if truncate else None
    )
    timer.token()
    counters = timer.counters(result.prompt_tokens, 0)
    return JSONResponse(
        {
            "model": listed_name(name),
            # Scripted vectors: test servers only (--enable-faults).
            "embeddings": [v.tolist() for v in scripted_vectors(request, name, result.vectors)],
            "total_duration": counters["total_duration"],
            "load_duration": 0,
            "prompt_eval_count": result.prompt_tokens,
        }
    )


@documented(
    request={
        "type": "object",
        "required": ["model", "prompt"],
        # An empty prompt is valid: Ollama answers it with an empty vector.
        "properties": {"model": {"type": "string"}, "prompt": {"type": "string"}},
    },
    tags=["ollama"],
)
async def embeddings(request: Request) -> Response:
    """The legacy route: one prompt, one vector under ``embedding``."""
    body = await read_json_object(request)
    name = model_name(body)
    runtime = get_state(request).repository.runtime(name, EmbeddingRuntime)
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise bad_request("prompt must be a string")
    if not prompt:
        # Ollama answers an empty prompt with an empty vector.
        return JSONResponse({"embedding": []})
    result = await runtime.embed([prompt], truncate_to=runtime.spec.max_input_tokens)
    (vector,) = scripted_vectors(request, name, list(result.vectors))  # --enable-faults only
    return JSONResponse({"embedding": vector.tolist()})
