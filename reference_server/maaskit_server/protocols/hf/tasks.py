"""Each model as a Hugging Face endpoint: ``POST /models/{name}`` answers the task payload of
``huggingface_hub.InferenceClient(base_url=".../models/{name}")``, plus TEI's ``/embed`` and
``/predict`` and TGI/TEI's ``GET /info``.

* classification: ``{"inputs": str | [str], "parameters": {"top_k", "function_to_apply"}}``
  → ``[[{"label", "score"}, ...]]``, one list per input, sorted by score (highest first).
  The runtime returns probabilities, so ``function_to_apply`` may only be ``softmax``.
* embeddings: ``{"inputs", "normalize", "truncate", "truncation_direction"}`` (at the top
  level as the Inference API's feature-extraction spec has them, or under ``parameters``)
  → ``[[float, ...], ...]`` one pooled vector per input.
* text generation: TGI's body (see ``generate``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import Response

from ... import __version__
from ..._json import JSONResponse
from ...errors import model_not_found
from ...faults import scripted_probabilities, scripted_vectors
from ...openapi import documented
from ...repository import ModelEntry, ModelStatus, failed_to_load
from ...runtimes.classification import ClassificationRuntime
from ...runtimes.embeddings import EmbeddingRuntime
from ...state import get_state
from .. import recognition
from ..requests import TEXTS_ONLY_SCHEMA, read_json_object, text_inputs
from ._tgi import validation_error
from .generate import GENERATE_SCHEMA, generate_response

# What _classify and _embed check, for the OpenAPI document (described next to the checks, so
# the two cannot drift). Other fields are ignored, as TEI's own deserialisation ignores them.
_FLAG = {"type": "boolean"}
CLASSIFY_PARAMETERS: dict[str, Any] = {
    "function_to_apply": {"enum": ["softmax"]},
    "top_k": {"type": "integer", "minimum": 1},
    "truncate": _FLAG,
}
EMBED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "inputs": TEXTS_ONLY_SCHEMA,
        "normalize": {
            "const": True,
            "description": "false only on a model whose vectors are not L2-normalised.",
        },
        "truncate": _FLAG,
        "truncation_direction": {"enum": ["right", "Right"]},
        "prompt_name": {"type": "null"},
    },
}
PREDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "inputs": {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 1,
                        "items": {"type": "string", "minLength": 1},
                    },
                },
            ]
        },
        # Refused when truthy: every JSON value that is not.
        "raw_scores": {"enum": [None, False, 0, "", [], {}]},
        **CLASSIFY_PARAMETERS,
    },
}


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    # Every check here reads a null field as one not sent.
    return {"anyOf": [schema, {"type": "null"}]}


def _parameters_object(properties: dict[str, Any]) -> dict[str, Any]:
    nullable = {name: _or_null(value) for name, value in properties.items()}
    return _or_null({"type": "object", "properties": nullable})


_EMBED_FIELDS = {name: v for name, v in EMBED_SCHEMA["properties"].items() if name != "inputs"}
# POST /models/{name}: the body of the model's task (one of these, by the model served), each
# from the checks the task's code below runs.
TASK_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "title": "text-classification",
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "inputs": TEXTS_ONLY_SCHEMA,
                "parameters": _parameters_object(CLASSIFY_PARAMETERS),
            },
        },
        {
            "title": "token-classification",
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "inputs": TEXTS_ONLY_SCHEMA,
                "parameters": _parameters_object(recognition.PARAMETERS),
            },
        },
        {
            # The top level as the feature-extraction spec has it, or under parameters (the
            # top level wins).
            "title": "feature-extraction",
            "type": "object",
            "required": ["inputs"],
            "properties": {
                **EMBED_SCHEMA["properties"],
                "parameters": _parameters_object(_EMBED_FIELDS),
            },
        },
        {"title": "text-generation", **GENERATE_SCHEMA},
    ]
}
_PIPELINE_TAGS = {
    "classification": "text-classification",
    "embeddings": "feature-extraction",
    "text-generation": "text-generation",
    "token-classification": "token-classification",
}


def _entry(request: Request) -> ModelEntry:
    name = str(request.path_params["model"])
    entry = next((e for e in get_state(request).repository.entries() if e.name == name), None)
    if entry is None:
        raise model_not_found(name)
    if entry.status in (ModelStatus.FAILED, ModelStatus.UNSUPPORTED):
        raise failed_to_load(entry)
    return entry


@documented(request=TASK_SCHEMA, response={"type": "array"}, tags=["hf"])
async def task(request: Request) -> Response:
    """The model's task, as the Inference API serves it (classify, embed or generate)."""
    entry = _entry(request)
    body = await read_json_object(request)
    if entry.task == "classification":
        parameters = _parameters(body)
        return JSONResponse(await _classify(request, entry.name, body.get("inputs"), parameters))
    if entry.task == "embeddings":
        return JSONResponse(await _embed(request, entry.name, {**_parameters(body), **body}))
    if entry.task == "token-classification":
        return JSONResponse(await _recognise(request, entry.name, body))
    return await generate_response(request, entry.name, body)


@documented(request=EMBED_SCHEMA, response={"type": "array"}, tags=["hf"])
async def embed(request: Request) -> Response:
    """TEI ``/embed``: one pooled vector per input."""
    entry = _entry(request)
    body = await read_json_object(request)
    return JSONResponse(await _embed(request, entry.name, body))


@documented(request=PREDICT_SCHEMA, response={"type": "array"}, tags=["hf"])
async def predict(request: Request) -> Response:
    """TEI ``/predict``: a text → its labels; a batch ``[[text], ...]`` → one list per text."""
    entry = _entry(request)
    body = await read_json_object(request)
    if body.get("raw_scores"):
        raise validation_error("`raw_scores` is not supported: this server returns probabilities.")
    raw = body.get("inputs")
    if isinstance(raw, str):
        (labels,) = await _classify(request, entry.name, raw, body)
        return JSONResponse(labels)
    if not isinstance(raw, list) or not all(
        isinstance(item, list) and len(item) == 1 and isinstance(item[0], str) for item in raw
    ):
        raise validation_error(
            "`inputs` must be a text or a batch [[text], ...]; sentence pairs are not supported."
        )
    return JSONResponse(await _classify(request, entry.name, [item[0] for item in raw], body))


@documented(response={"type": "object"}, tags=["hf"])
async def info(request: Request) -> Response:
    """TGI/TEI ``/info``: the model behind this endpoint and its limits."""
    entry = _entry(request)
    details = entry.details
    max_input = int(details.get("max_input_tokens") or details.get("max_model_len") or 0)
    return JSONResponse(
        {
            "model_id": entry.name,
            "model_sha": None,
            "model_dtype": "float32",
            "model_device_type": "cpu",
            "model_pipeline_tag": _PIPELINE_TAGS.get(entry.task),
            "max_input_tokens": max_input,
            "max_input_length": max_input,
            "max_total_tokens": int(details.get("max_model_len") or max_input),
            "max_concurrent_requests": int(details.get("max_running_sequences") or 1),
            "max_best_of": 1,
            "max_stop_sequences": 4,
            "max_client_batch_size": get_state(request).settings.max_inputs_per_request,
            "version": __version__,
            "sha": None,
            "docker_label": None,
            "status": entry.status.value,
        }
    )


def _parameters(body: dict[str, Any]) -> dict[str, Any]:
    parameters = body.get("parameters")
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise validation_error("`parameters` must be an object.")
    return parameters


async def _classify(
    request: Request, model: str, raw: Any, parameters: dict[str, Any]
) -> list[list[dict[str, Any]]]:
    state = get_state(request)
    runtime = state.repository.runtime(model, ClassificationRuntime)
    function = parameters.get("function_to_apply")
    if function not in (None, "softmax"):
        raise validation_error(
            "`function_to_apply` must be 'softmax': this model's runtime returns probabilities."
        )
    top_k = parameters.get("top_k")
    if isinstance(top_k, float) and top_k.is_integer() and abs(top_k) <= 2**53:
        top_k = int(top_k)  # the document says integer, and JSON Schema takes 2.0 as one
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise validation_error("`top_k` must be a positive integer.")
    texts = _texts(raw, state.settings.max_inputs_per_request)
    truncate = _bool(parameters, "truncate")
    result = await runtime.classify(
        texts, truncate_to=runtime.spec.max_input_tokens if truncate else None
    )
    labels = runtime.labels
    answers = []
    # Scripted labels: test servers only (--enable-faults).
    rows = scripted_probabilities(request, model, labels, list(result.probabilities))
    for probabilities in rows:
        order = np.argsort(-probabilities, kind="stable")[:top_k]
        answers.append([{"label": labels[i], "score": float(probabilities[i])} for i in order])
    return answers


async def _embed(request: Request, model: str, body: dict[str, Any]) -> list[list[float]]:
    state = get_state(request)
    runtime = state.repository.runtime(model, EmbeddingRuntime)
    if body.get("prompt_name") is not None:
        raise validation_error("`prompt_name` is not supported: this model has no prompts.")
    direction = body.get("truncation_direction")
    if direction not in (None, "right", "Right"):
        raise validation_error("`truncation_direction` must be 'right' (the end is cut).")
    normalize = body.get("normalize")
    if normalize is not None and not isinstance(normalize, bool):
        raise validation_error("`normalize` must be true or false.")
    if normalize is False and runtime.spec.normalize:
        raise validation_error(
            "`normalize: false` is not available: this model's vectors are L2-normalised."
        )
    texts = _texts(body.get("inputs"), state.settings.max_inputs_per_request)
    truncate = _bool(body, "truncate")
    result = await runtime.embed(
        texts, truncate_to=runtime.spec.max_input_tokens if truncate else None
    )
    vectors = np.stack(scripted_vectors(request, model, list(result.vectors))).astype(np.float32)
    if normalize and not runtime.spec.normalize:
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    rows: list[list[float]] = vectors.tolist()
    return rows


async def _recognise(request: Request, model: str, body: dict[str, Any]) -> Any:
    kwargs = recognition.parse_parameters(_parameters(body), validation_error)
    raw = body.get("inputs")
    texts = _texts(raw, get_state(request).settings.max_inputs_per_request)
    found, _ = await recognition.recognise(request, model, texts, kwargs)
    return found[0] if isinstance(raw, str) else found


def _texts(raw: Any, max_inputs: int) -> list[str]:
    if not (
        isinstance(raw, str) or (isinstance(raw, list) and all(isinstance(x, str) for x in raw))
    ):
        raise validation_error("`inputs` must be a string or a list of strings.")
    texts = text_inputs(raw, max_inputs=max_inputs, param="inputs")
    return [str(text) for text in texts]


def _bool(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise validation_error(f"`{key}` must be true or false.")
    return value
