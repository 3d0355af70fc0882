"""Open Inference Protocol v2 tensors: JSON ``data`` and Triton's binary tensor extension.

A binary answer carries an ``Inference-Header-Content-Length: L`` header: its first ``L``
bytes are the JSON header, and every output whose ``parameters`` hold ``binary_data_size``
takes that many of the following bytes, in output order. Numbers are little-endian; each
``BYTES`` element is a 4-byte little-endian length followed by that many bytes. Decoding
uses ``struct`` only, so the SDK needs no numpy.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...types._tensors import tensor_rows, tensor_texts

__all__ = [
    "HEADER_LENGTH",
    "Tensor",
    "decode_binary",
    "encode_binary",
    "encode_bytes",
    "parse_outputs",
]

HEADER_LENGTH = "inference-header-content-length"

# v2 datatype → struct format of one element (little-endian).
_FORMATS = {
    "BOOL": "?",
    "UINT8": "B",
    "UINT16": "H",
    "UINT32": "I",
    "UINT64": "Q",
    "INT8": "b",
    "INT16": "h",
    "INT32": "i",
    "INT64": "q",
    "FP16": "e",
    "FP32": "f",
    "FP64": "d",
}


@dataclass(frozen=True)
class Tensor:
    """One output, its elements flat in row-major order (``BYTES`` elements are ``bytes``)."""

    name: str
    datatype: str
    shape: list[int]
    data: list[Any]
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def rows(self) -> list[list[Any]]:
        """A ``[n, k]`` tensor as n rows; a 1-D tensor is one row."""
        return tensor_rows(self.shape, self.data)

    def texts(self) -> list[str]:
        """A ``BYTES`` tensor's elements as UTF-8 text."""
        return tensor_texts(self.data)


def encode_bytes(elements: Sequence[bytes]) -> bytes:
    """``BYTES`` elements in the binary tensor layout (used by tests and request builders)."""
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


def encode_binary(datatype: str, data: Sequence[Any]) -> bytes:
    """Elements in the binary tensor layout (``BYTES``: each UTF-8 text or bytes with its
    4-byte length; numbers little-endian)."""
    if datatype == "BYTES":
        return encode_bytes([e.encode("utf-8") if isinstance(e, str) else bytes(e) for e in data])
    fmt = _FORMATS.get(datatype)
    if fmt is None:
        raise ValueError(f"unsupported tensor datatype {datatype!r}")
    return struct.pack(f"<{len(data)}{fmt}", *data)


def decode_binary(datatype: str, raw: bytes) -> list[Any]:
    if datatype == "BYTES":
        elements: list[Any] = []
        offset = 0
        while offset < len(raw):
            if offset + 4 > len(raw):
                raise ValueError("a BYTES element is cut inside its 4-byte length")
            (length,) = struct.unpack_from("<I", raw, offset)
            offset += 4
            if offset + length > len(raw):
                raise ValueError("a BYTES element is longer than the bytes left")
            elements.append(raw[offset : offset + length])
            offset += length
        return elements
    fmt = _FORMATS.get(datatype)
    if fmt is None:
        raise ValueError(f"unsupported tensor datatype {datatype!r}")
    size = struct.calcsize(fmt)
    if len(raw) % size:
        raise ValueError(f"{len(raw)} bytes is not a whole number of {datatype} elements")
    return list(struct.unpack(f"<{len(raw) // size}{fmt}", raw))


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise TypeError("tensor data must be a list")
    flat: list[Any] = []
    stack = [iter(data)]
    # Iterative, so a deeply nested body cannot exhaust the recursion limit.
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


def _shape(value: Any) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value
    ):
        raise ValueError(f"a tensor shape must be a list of non-negative ints, got {value!r}")
    return list(value)


def parse_outputs(body: bytes, headers: Mapping[str, str]) -> tuple[Any, dict[str, Tensor]]:
    """The JSON header of an infer answer and its outputs by name.

    Raises ``ValueError``/``TypeError``/``KeyError`` on a malformed answer (the caller turns
    them into ``ResponseValidationError``)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    header_length = lowered.get(HEADER_LENGTH)
    if header_length is None:
        header, rest = json.loads(body), b""
    else:
        length = int(header_length)
        if not 0 <= length <= len(body):
            raise ValueError(f"{HEADER_LENGTH} {length} does not fit a {len(body)}-byte body")
        header, rest = json.loads(body[:length]), body[length:]
    if not isinstance(header, Mapping) or not isinstance(header.get("outputs"), list):
        raise ValueError("an infer answer needs an 'outputs' list")
    outputs: dict[str, Tensor] = {}
    offset = 0
    for output in header["outputs"]:
        name, datatype = str(output["name"]), str(output["datatype"])
        shape = _shape(output["shape"])
        parameters = output.get("parameters") or {}
        size = parameters.get("binary_data_size") if isinstance(parameters, Mapping) else None
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(rest):
                raise ValueError(f"output {name!r}: binary_data_size {size!r} exceeds the body")
            data = decode_binary(datatype, rest[offset : offset + size])
            offset += size
        else:
            data = _flatten(output["data"])
        if len(data) != math.prod(shape):
            raise ValueError(f"output {name!r} has {len(data)} elements for shape {shape}")
        outputs[name] = Tensor(name, datatype, shape, data, parameters)
    return header, outputs
