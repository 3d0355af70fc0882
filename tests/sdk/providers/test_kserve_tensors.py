"""Triton's binary tensor layout, decoded with ``struct`` alone (no numpy in the SDK)."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from maaskit.providers.kserve import decode_binary, encode_bytes, parse_outputs


@pytest.mark.parametrize(
    ("datatype", "fmt", "values"),
    [
        ("BOOL", "<3?", [True, False, True]),
        ("UINT8", "<3B", [0, 7, 255]),
        ("INT16", "<3h", [-2, 0, 300]),
        ("UINT32", "<3I", [1, 2, 4_000_000_000]),
        ("INT64", "<3q", [-(2**40), 0, 2**40]),
        ("UINT64", "<3Q", [0, 1, 2**63]),
        ("FP64", "<3d", [0.1, -1e300, 3.0]),
    ],
)
def test_numeric_types_are_little_endian(datatype: str, fmt: str, values: list[Any]) -> None:
    assert decode_binary(datatype, struct.pack(fmt, *values)) == values


def test_bytes_elements_are_length_prefixed() -> None:
    raw = struct.pack("<I", 3) + b"abc" + struct.pack("<I", 0) + struct.pack("<I", 2) + b"\xc3\xa9"
    assert decode_binary("BYTES", raw) == [b"abc", b"", "é".encode()]
    assert encode_bytes([b"abc", b"", "é".encode()]) == raw


@pytest.mark.parametrize(
    ("datatype", "raw", "match"),
    [
        ("BYTES", b"\x05\x00\x00\x00abc", "longer than the bytes left"),
        ("BYTES", b"\x01\x00", "cut inside its 4-byte length"),
        ("FP32", b"\x00" * 6, "not a whole number of FP32"),
        ("BF16", b"\x00\x00", "unsupported tensor datatype"),
    ],
)
def test_malformed_binary_is_refused(datatype: str, raw: bytes, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        decode_binary(datatype, raw)


def test_mixed_binary_and_json_outputs_keep_their_order() -> None:
    header = (
        b'{"outputs": ['
        b'{"name": "a", "datatype": "INT32", "shape": [2], "parameters": {"binary_data_size": 8}},'
        b'{"name": "b", "datatype": "BYTES", "shape": [1], "data": ["json"]},'
        b'{"name": "c", "datatype": "FP32", "shape": [1, 1], "parameters": {"binary_data_size": 4}}'
        b"]}"
    )
    body = header + struct.pack("<2i", -1, 9) + struct.pack("<f", 0.5)

    _, outputs = parse_outputs(body, {"Inference-Header-Content-Length": str(len(header))})

    assert outputs["a"].data == [-1, 9]
    assert outputs["b"].texts() == ["json"]
    assert outputs["c"].rows() == [[0.5]]
