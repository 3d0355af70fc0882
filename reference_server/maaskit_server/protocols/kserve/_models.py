"""Model lookup and metadata in v2 terms: one version ("1") per model folder.

Tensor names per task are the convention the SDK's ``kserve`` provider reads: ``text`` BYTES
in; ``probabilities`` / ``label`` / ``labels`` (classification), ``embedding`` (embeddings)
out. Generation models take Triton's ``text_input`` and answer ``text_output``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from ... import __version__
from ...errors import APIError, model_not_found
from ...repository import ModelEntry, ModelStatus, failed_to_load
from ...state import get_state

MODEL_VERSION = "1"
TEXT_INPUT = "text"
# LiteLLM's triton/ provider sends its embedding texts as ``input_text``.
TEXT_INPUTS = (TEXT_INPUT, "input_text")
GENERATION_INPUT = "text_input"
GENERATION_OUTPUT = "text_output"
PROBABILITIES = "probabilities"
LABEL = "label"
LABELS = "labels"
EMBEDDING = "embedding"
SERVER_NAME = "maaskit"
EXTENSIONS = [
    "binary_tensor_data",
    "model_repository",
    "generate",
]


def model_entry(request: Request, *, ready: bool = True) -> ModelEntry:
    """The entry the path names (``model`` and optional ``version``), or the v2 error."""
    name = str(request.path_params["model"])
    version = request.path_params.get("version")
    entry = next((e for e in get_state(request).repository.entries() if e.name == name), None)
    if entry is None:
        raise model_not_found(name)
    if entry.status in (ModelStatus.FAILED, ModelStatus.UNSUPPORTED):
        raise failed_to_load(entry)
    if version is not None and str(version) != MODEL_VERSION:
        raise APIError(
            404,
            f"model {name!r} has no version {version!r}; its only version is {MODEL_VERSION!r}.",
            type="not_found_error",
            code="model_version_not_found",
        )
    if ready and entry.status is not ModelStatus.READY:
        raise APIError(
            503,
            f"model {name!r} is still loading; retry shortly",
            type="server_error",
            code="model_loading",
            headers={"Retry-After": "1"},
        )
    return entry


def tensor(name: str, datatype: str, shape: list[int]) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape}


def model_metadata(entry: ModelEntry) -> dict[str, Any]:
    """``GET /v2/models/{m}``: inputs and outputs per task, labels in ``parameters`` too."""
    details = entry.details
    parameters: dict[str, Any] = {"task": entry.task}
    inputs = [tensor(TEXT_INPUT, "BYTES", [-1])]
    outputs: list[dict[str, Any]] = []
    if entry.task == "classification":
        labels = [str(label) for label in details.get("labels", [])]
        parameters["labels"] = labels
        outputs = [
            tensor(PROBABILITIES, "FP32", [-1, len(labels)]),
            tensor(LABEL, "BYTES", [-1]),
            tensor(LABELS, "BYTES", [len(labels)]),
        ]
    elif entry.task == "embeddings":
        dimensions = int(details.get("dimensions", -1))
        parameters["dimensions"] = dimensions
        outputs = [tensor(EMBEDDING, "FP32", [-1, dimensions])]
    elif entry.task == "text-generation":
        inputs = [tensor(GENERATION_INPUT, "BYTES", [-1])]
        outputs = [tensor(GENERATION_OUTPUT, "BYTES", [-1])]
        if "max_model_len" in details:
            parameters["max_model_len"] = details["max_model_len"]
    if "max_input_tokens" in details:
        parameters["max_input_tokens"] = details["max_input_tokens"]
    return {
        "name": entry.name,
        "versions": [MODEL_VERSION],
        "platform": "maaskit_onnxruntime",
        "inputs": inputs,
        "outputs": outputs,
        "parameters": parameters,
    }


def server_metadata() -> dict[str, Any]:
    return {"name": SERVER_NAME, "version": __version__, "extensions": EXTENSIONS}


def repository_index(request: Request, ready_only: bool) -> list[dict[str, Any]]:
    states = {
        ModelStatus.READY: "READY",
        ModelStatus.LOADING: "LOADING",
        ModelStatus.PENDING: "LOADING",
        ModelStatus.FAILED: "UNAVAILABLE",
        ModelStatus.UNSUPPORTED: "UNAVAILABLE",
    }
    index = []
    for entry in get_state(request).repository.entries():
        if ready_only and entry.status is not ModelStatus.READY:
            continue
        item = {"name": entry.name, "version": MODEL_VERSION, "state": states[entry.status]}
        if entry.reason:
            item["reason"] = entry.reason
        index.append(item)
    return index
