"""``POST /v2/models/{m}[/versions/{v}]/infer`` in JSON and in Triton's binary tensor format.

One input tensor of UTF-8 texts (``text``, or ``text_input`` for generation models), datatype
``BYTES``, shape ``[n]`` or ``[n, 1]``. LiteLLM's ``triton/`` provider names the encoders'
input ``input_text`` (litellm/llms/triton/embedding/transformation.py), which is taken too,
and sends generation parameters as one-element tensors (``max_tokens`` INT32, floats FP32,
strings BYTES; litellm/llms/triton/completion/transformation.py), which count as request
parameters. Outputs are every output of the task unless the request lists some; each one is
binary when its ``parameters.binary_data`` says so, else when the request's
``parameters.binary_data_output`` does. Request ``parameters`` also take ``truncate`` /
``truncate_prompt_tokens`` (as on ``/v1``) and, for generation models, the sampling
parameters of the generate extension. Bodies compressed by tritonclient
(``Content-Encoding: gzip`` or ``deflate``) are inflated first, within the body limit.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ...errors import APIError, bad_request
from ...faults import scripted_grammar, scripted_probabilities, scripted_vectors
from ...openapi import documented
from ...repository import ModelEntry
from ...runtimes.classification import ClassificationRuntime
from ...runtimes.embeddings import EmbeddingRuntime
from ...runtimes.generation import GenerationRuntime
from ...state import get_state
from ..generation_run import GenerationRun
from ..requests import truncation
from . import _models as names
from ._tensors import (
    HEADER_LENGTH,
    INPUT_TENSOR_SCHEMA,
    OUTPUT_SCHEMA,
    PARAMETERS_SCHEMA,
    InferRequest,
    InputTensor,
    OutputTensor,
    decompress,
    encode_response,
    texts_of,
)
from ._tensors import parse_infer_request as parse_request
from .generate import parameter_names, sampling_params

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "id": {"type": "string"},
        "inputs": {"type": "array", "minItems": 1, "items": INPUT_TENSOR_SCHEMA},
        "outputs": {"type": "array", "items": OUTPUT_SCHEMA},
        "parameters": PARAMETERS_SCHEMA,
    },
}


# With binary outputs asked for (binary_data_output, or an output's binary_data), the answer
# is the binary tensor extension's: a JSON header, then the raw tensor bytes.
_BINARY_ANSWER = {"application/octet-stream": {"type": "string", "format": "binary"}}


@documented(
    request=REQUEST_SCHEMA, response={"type": "object"}, tags=["kserve"], other_media=_BINARY_ANSWER
)
async def infer(request: Request) -> Response:
    """Run the model on one BYTES tensor of texts (JSON or binary tensor data)."""
    entry = names.model_entry(request)
    try:
        body = await request.body()
    except ClientDisconnect as exc:
        raise APIError(400, "The client disconnected while sending the body.") from exc
    limit = get_state(request).settings.max_body_bytes
    body = decompress(body, request.headers.get("content-encoding"), limit)
    parsed = parse_request(body, request.headers.get(HEADER_LENGTH))
    generation = entry.task == "text-generation"
    input_names = (names.GENERATION_INPUT,) if generation else names.TEXT_INPUTS
    tensor_parameters = parameter_names() if generation else frozenset()
    text_tensor, parameters = _split_inputs(parsed, input_names, tensor_parameters)
    texts = _texts(text_tensor, get_state(request).settings.max_inputs_per_request)
    if entry.task == "classification":
        outputs = await _classify(request, entry, texts, parameters)
    elif entry.task == "embeddings":
        outputs = await _embed(request, entry, texts, parameters)
    elif entry.task != "text-generation":
        raise APIError(
            400,
            f"model {entry.name!r} serves {entry.task!r}, which has no KServe v2 tensor "
            f"mapping here; use POST /models/{entry.name} (Hugging Face) instead",
        )
    else:
        outputs = await _generate(request, entry, texts, parameters)
    selected, binary = _select(parsed, outputs)
    header: dict[str, Any] = {"model_name": entry.name, "model_version": names.MODEL_VERSION}
    if parsed.id is not None:
        header["id"] = parsed.id
    content, header_length = encode_response(header, selected, binary)
    if header_length is None:
        return Response(content, media_type="application/json")
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(header_length)},
    )


def _split_inputs(
    parsed: InferRequest, text_names: tuple[str, ...], parameter_names: frozenset[str]
) -> tuple[InputTensor, dict[str, Any]]:
    """The text tensor, and the request parameters with the one-element parameter tensors."""
    texts = [tensor for tensor in parsed.inputs if tensor.name in text_names]
    scalars = [tensor for tensor in parsed.inputs if tensor.name in parameter_names]
    unknown = sorted({t.name for t in parsed.inputs} - {*text_names, *parameter_names})
    expected = " or ".join(map(repr, text_names))
    if unknown:
        extra = f", and parameters as one-element inputs ({', '.join(sorted(parameter_names))})"
        raise bad_request(
            f"unknown input(s) {', '.join(map(repr, unknown))}; this model takes one BYTES "
            f"input named {expected}{extra if parameter_names else ''}."
        )
    if not texts:
        raise bad_request(f"the request has no input named {expected}.")
    if len(texts) != 1:
        raise bad_request(f"input {expected} is given more than once.")
    parameters = dict(parsed.parameters)
    for tensor in scalars:
        if tensor.name in parameters:
            raise bad_request(f"{tensor.name!r} is given both as an input and as a parameter.")
        parameters[tensor.name] = _scalar(tensor)
    return texts[0], parameters


def _scalar(tensor: InputTensor) -> Any:
    if len(tensor.data) != 1:
        raise bad_request(
            f"input {tensor.name!r} is a parameter and must hold one element, not "
            f"{len(tensor.data)}."
        )
    if isinstance(tensor.data, list):
        return texts_of(tensor)[0]
    value: Any = tensor.data[0].item()
    return value


def _texts(tensor: InputTensor, max_inputs: int) -> list[str]:
    input_name = tensor.name
    texts = texts_of(tensor)
    shape = tensor.shape
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        raise bad_request(f"input {input_name!r} must have shape [n] or [n, 1], not {shape}.")
    if not texts:
        raise bad_request(f"input {input_name!r} holds no text.")
    if len(texts) > max_inputs:
        raise bad_request(
            f"input {input_name!r} holds {len(texts)} texts, more than the limit of "
            f"{max_inputs} per request."
        )
    for index, text in enumerate(texts):
        if not text:
            raise bad_request(f"input {input_name!r} element {index} is empty.")
    return texts


async def _classify(
    request: Request, entry: ModelEntry, texts: list[str], parameters: dict[str, Any]
) -> list[OutputTensor]:
    runtime = get_state(request).repository.runtime(entry.name, ClassificationRuntime)
    result = await runtime.classify(texts, truncate_to=truncation(parameters, runtime.spec))
    labels = list(runtime.labels)
    # Scripted labels and vectors: test servers only (--enable-faults).
    rows = scripted_probabilities(request, entry.name, labels, list(result.probabilities))
    probabilities = np.stack(rows).astype(np.float32)
    top = [labels[int(i)].encode("utf-8") for i in probabilities.argmax(axis=1)]
    return [
        OutputTensor(names.PROBABILITIES, "FP32", list(probabilities.shape), probabilities),
        OutputTensor(names.LABEL, "BYTES", [len(top)], top),
        OutputTensor(names.LABELS, "BYTES", [len(labels)], [x.encode("utf-8") for x in labels]),
    ]


async def _embed(
    request: Request, entry: ModelEntry, texts: list[str], parameters: dict[str, Any]
) -> list[OutputTensor]:
    runtime = get_state(request).repository.runtime(entry.name, EmbeddingRuntime)
    result = await runtime.embed(texts, truncate_to=truncation(parameters, runtime.spec))
    vectors = np.stack(scripted_vectors(request, entry.name, list(result.vectors)))
    vectors = vectors.astype(np.float32)
    return [OutputTensor(names.EMBEDDING, "FP32", list(vectors.shape), vectors)]


async def _generate(
    request: Request, entry: ModelEntry, texts: list[str], parameters: dict[str, Any]
) -> list[OutputTensor]:
    runtime = get_state(request).repository.runtime(entry.name, GenerationRuntime)
    # Triton's reserved request parameters steer the server, not the sampling.
    reserved = {
        "binary_data_output",
        "truncate",
        "truncate_prompt_tokens",
        "sequence_id",
        "sequence_start",
        "sequence_end",
        "priority",
        "timeout",
    }
    params = sampling_params({k: v for k, v in parameters.items() if k not in reserved})
    params = dataclasses.replace(params, grammar=scripted_grammar(request, entry.name, None))
    run = GenerationRun(runtime, [await runtime.encode(text) for text in texts], params)
    choices = await run.collect(request)
    generated = [choice.text.encode("utf-8") for choice in choices]
    return [OutputTensor(names.GENERATION_OUTPUT, "BYTES", [len(generated)], generated)]


def _select(
    parsed: InferRequest, outputs: list[OutputTensor]
) -> tuple[list[OutputTensor], list[bool]]:
    if not parsed.outputs:
        return outputs, [parsed.binary_data_output] * len(outputs)
    by_name = {tensor.name: tensor for tensor in outputs}
    selected, binary = [], []
    for wanted in parsed.outputs:
        if wanted.name not in by_name:
            raise bad_request(
                f"unknown output {wanted.name!r}; this model's outputs are "
                f"{', '.join(map(repr, by_name))}."
            )
        selected.append(by_name[wanted.name])
        binary.append(parsed.binary_data_output if wanted.binary is None else wanted.binary)
    return selected, binary
