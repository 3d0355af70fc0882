"""Open Inference Protocol v2 tensors: JSON ``data`` and Triton's binary tensor extension.

A binary request carries ``Inference-Header-Content-Length: L``: its first ``L`` bytes are the
JSON header, and every input whose ``parameters`` hold ``binary_data_size`` takes that many of
the following bytes, in input order. Numbers are little-endian; each ``BYTES`` element is a
4-byte little-endian length followed by that many bytes. Every inconsistency is a 400 that
names the tensor, never an exception escaping to the catch-all handler.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from ..._json import dumps
from ...errors import APIError, bad_request

HEADER_LENGTH = "inference-header-content-length"

# v2 datatype → numpy dtype of one element (little-endian); BYTES is handled apart.
NUMPY_TYPES: dict[str, str] = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
DATATYPES = frozenset({*NUMPY_TYPES, "BYTES"})


# What parse_infer_request checks, for the OpenAPI document (described next to the checks).
# Beyond JSON Schema, in the descriptions: data holds as many values as the shape's product.
_NULLABLE_FLAG = {"type": ["boolean", "null"]}
INPUT_TENSOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "datatype", "shape"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "datatype": {"enum": sorted(DATATYPES)},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "data": {
            "description": "The shape's product of values (nested lists are flattened): "
            "strings for BYTES, booleans for BOOL, integers for (U)INT*, numbers for FP*. "
            "Absent when parameters.binary_data_size gives the tensor's binary bytes."
        },
        "parameters": {
            "type": ["object", "null"],
            "properties": {"binary_data_size": {"type": ["integer", "null"], "minimum": 0}},
        },
    },
}
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "parameters": {"type": ["object", "null"], "properties": {"binary_data": _NULLABLE_FLAG}},
    },
}
PARAMETERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"binary_data_output": {"type": "boolean"}},
}


@dataclass(frozen=True)
class InputTensor:
    name: str
    datatype: str
    shape: list[int]
    # BYTES: a list of bytes; other types: a flat numpy array.
    data: list[bytes] | npt.NDArray[Any]


@dataclass(frozen=True)
class RequestedOutput:
    name: str
    binary: bool | None  # None: use the request-level ``binary_data_output``


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    inputs: list[InputTensor]
    outputs: list[RequestedOutput]
    parameters: dict[str, Any]
    binary_data_output: bool


@dataclass(frozen=True)
class OutputTensor:
    name: str
    datatype: str
    shape: list[int]
    data: list[bytes] | npt.NDArray[Any]
    parameters: dict[str, Any] = field(default_factory=dict)


def decompress(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Undo tritonclient's ``request_compression_algorithm`` (gzip or deflate), never
    inflating past ``limit`` bytes (the server's body limit applies to the real size)."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding not in ("gzip", "deflate"):
        raise APIError(415, f"Content-Encoding {content_encoding!r} is not supported.")
    # wbits: 16 + MAX_WBITS reads a gzip wrapper, MAX_WBITS a zlib one (HTTP's "deflate").
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise bad_request(f"the {encoding} request body does not decompress: {exc}") from exc
    if len(data) > limit:
        raise APIError(
            413,
            f"The decompressed request body is larger than the server's limit of {limit} bytes.",
            code="request_too_large",
        )
    if not inflater.eof:
        raise bad_request(f"the {encoding} request body is truncated.")
    return data


def parse_infer_request(body: bytes, header_length: str | None) -> InferRequest:
    """Decode a JSON or binary-extension infer request; raise a 400 naming the problem."""
    if header_length is None:
        header, rest = body, b""
    else:
        if not header_length.strip().isdigit() or int(header_length) > len(body):
            raise bad_request(
                f"Inference-Header-Content-Length {header_length!r} is not a length within the "
                f"{len(body)}-byte body."
            )
        length = int(header_length)
        header, rest = body[:length], body[length:]
    payload = _json_object(header)
    raw_inputs = payload.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise bad_request("'inputs' must be a non-empty list of tensors.")
    offset = 0
    inputs: list[InputTensor] = []
    for index, raw in enumerate(raw_inputs):
        tensor, used = _input_tensor(raw, index, rest, offset)
        inputs.append(tensor)
        offset += used
    if offset != len(rest):
        raise bad_request(
            f"the body has {len(rest) - offset} bytes of binary data after the last input's "
            "binary_data_size."
        )
    # Only null is "no parameters": 0 or [] are not an object (KServe refuses them).
    parameters = {} if payload.get("parameters") is None else payload["parameters"]
    if not isinstance(parameters, dict):
        raise bad_request("'parameters' must be an object.")
    binary_output = parameters.get("binary_data_output", False)
    if not isinstance(binary_output, bool):
        raise bad_request("parameters.binary_data_output must be true or false.")
    request_id = payload.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise bad_request("'id' must be a string.")
    return InferRequest(
        id=request_id,
        inputs=inputs,
        outputs=_requested_outputs(payload.get("outputs")),
        parameters=parameters,
        binary_data_output=binary_output,
    )


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise bad_request("The request body is empty; send a JSON object.", code="invalid_json")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"The request is not valid JSON: {exc}", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise bad_request("The request must be a JSON object.", code="invalid_json")
    return data


def _input_tensor(raw: Any, index: int, rest: bytes, offset: int) -> tuple[InputTensor, int]:
    where = f"inputs[{index}]"
    if not isinstance(raw, dict):
        raise bad_request(f"{where} must be an object.")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise bad_request(f"{where}.name must be a non-empty string.")
    where = f"input {name!r}"
    datatype = raw.get("datatype")
    # Checked as a string first: an object or a list is not hashable (it answered 500).
    if not isinstance(datatype, str) or datatype not in DATATYPES:
        raise bad_request(f"{where} has unknown datatype {datatype!r}.")
    shape = raw.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise bad_request(f"{where}.shape must be a list of non-negative integers.")
    count = math.prod(shape)
    parameters = {} if raw.get("parameters") is None else raw["parameters"]
    if not isinstance(parameters, dict):
        raise bad_request(f"{where}.parameters must be an object.")
    size = parameters.get("binary_data_size")
    if size is not None:
        if "data" in raw:
            raise bad_request(f"{where} has both 'data' and parameters.binary_data_size.")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise bad_request(f"{where}: binary_data_size must be a non-negative integer.")
        if offset + size > len(rest):
            raise bad_request(
                f"{where}: binary_data_size {size} is larger than the {len(rest) - offset} "
                "binary bytes left in the body."
            )
        chunk = rest[offset : offset + size]
        return InputTensor(name, datatype, shape, _from_binary(chunk, datatype, count, where)), size
    if "data" not in raw:
        raise bad_request(f"{where} has neither 'data' nor parameters.binary_data_size.")
    flat = _flatten(raw["data"], where)
    if len(flat) != count:
        raise bad_request(f"{where} has shape {shape} ({count} elements) but {len(flat)} values.")
    return InputTensor(name, datatype, shape, _from_json(flat, datatype, where)), 0


def _flatten(data: Any, where: str) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    flat: list[Any] = []
    stack: list[Any] = [iter(data)]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, list):
            if len(stack) > 32:
                raise bad_request(f"{where}.data is nested too deeply.")
            stack.append(iter(item))
        else:
            flat.append(item)
    return flat


_END = object()


def _from_json(flat: list[Any], datatype: str, where: str) -> list[bytes] | npt.NDArray[Any]:
    if datatype == "BYTES":
        if not all(isinstance(item, str) for item in flat):
            raise bad_request(f"{where} is BYTES: its data must be strings.")
        return [item.encode("utf-8") for item in flat]
    if datatype == "BOOL":
        if not all(isinstance(item, bool) for item in flat):
            raise bad_request(f"{where} is BOOL: its data must be true or false.")
    elif datatype.startswith(("INT", "UINT")):
        if not all(isinstance(item, int) and not isinstance(item, bool) for item in flat):
            raise bad_request(f"{where} is {datatype}: its data must be integers.")
    elif not all(isinstance(item, int | float) and not isinstance(item, bool) for item in flat):
        raise bad_request(f"{where} is {datatype}: its data must be numbers.")
    try:
        return np.array(flat, dtype=NUMPY_TYPES[datatype])
    except OverflowError as exc:
        raise bad_request(f"{where}: a value does not fit in {datatype}.") from exc


def _from_binary(
    chunk: bytes, datatype: str, count: int, where: str
) -> list[bytes] | npt.NDArray[Any]:
    if datatype != "BYTES":
        dtype = np.dtype(NUMPY_TYPES[datatype])
        if len(chunk) != count * dtype.itemsize:
            raise bad_request(
                f"{where}: {len(chunk)} binary bytes do not hold {count} {datatype} elements "
                f"({count * dtype.itemsize} bytes)."
            )
        return np.frombuffer(chunk, dtype=dtype)
    elements: list[bytes] = []
    position = 0
    while position < len(chunk):
        if position + 4 > len(chunk):
            raise bad_request(f"{where}: a BYTES element's 4-byte length is cut short.")
        (length,) = struct.unpack_from("<I", chunk, position)
        position += 4
        if position + length > len(chunk):
            raise bad_request(f"{where}: a BYTES element of {length} bytes overruns the data.")
        elements.append(chunk[position : position + length])
        position += length
    if len(elements) != count:
        raise bad_request(
            f"{where} has shape with {count} elements but its binary data holds {len(elements)}."
        )
    return elements


def _requested_outputs(raw: Any) -> list[RequestedOutput]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request("'outputs' must be a list.")
    outputs = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise bad_request(f"outputs[{index}] must be an object with a 'name'.")
        parameters = {} if item.get("parameters") is None else item["parameters"]
        if not isinstance(parameters, dict):
            raise bad_request(f"outputs[{index}].parameters must be an object.")
        binary = parameters.get("binary_data")
        if binary is not None and not isinstance(binary, bool):
            raise bad_request(f"outputs[{index}].parameters.binary_data must be true or false.")
        outputs.append(RequestedOutput(item["name"], binary))
    return outputs


def encode_response(
    header: dict[str, Any], outputs: list[OutputTensor], binary: list[bool]
) -> tuple[bytes, int | None]:
    """The response body and, when any output is binary, the JSON header's length."""
    described: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for tensor, as_binary in zip(outputs, binary, strict=True):
        item: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": tensor.shape,
        }
        parameters = dict(tensor.parameters)
        if as_binary:
            chunk = _to_binary(tensor)
            parameters["binary_data_size"] = len(chunk)
            chunks.append(chunk)
        else:
            item["data"] = _to_json(tensor)
        if parameters:
            item["parameters"] = parameters
        described.append(item)
    head = dumps({**header, "outputs": described})
    if not chunks:
        return head, None
    return head + b"".join(chunks), len(head)


def _to_binary(tensor: OutputTensor) -> bytes:
    if isinstance(tensor.data, list):
        return b"".join(struct.pack("<I", len(item)) + item for item in tensor.data)
    return np.ascontiguousarray(tensor.data, dtype=NUMPY_TYPES[tensor.datatype]).tobytes()


def _to_json(tensor: OutputTensor) -> list[Any]:
    if isinstance(tensor.data, list):
        return [item.decode("utf-8", errors="replace") for item in tensor.data]
    values: list[Any] = tensor.data.reshape(-1).tolist()
    return values


def texts_of(tensor: InputTensor) -> list[str]:
    """A BYTES input's elements as UTF-8 text (a 400 when they are not)."""
    if tensor.datatype != "BYTES" or not isinstance(tensor.data, list):
        raise bad_request(
            f"input {tensor.name!r} must have datatype BYTES (UTF-8 text), not {tensor.datatype}."
        )
    try:
        return [item.decode("utf-8") for item in tensor.data]
    except UnicodeDecodeError as exc:
        raise APIError(400, f"input {tensor.name!r} holds bytes that are not UTF-8.") from exc
