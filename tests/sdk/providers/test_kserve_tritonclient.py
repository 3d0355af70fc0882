"""Cross-check with Triton's own client: what tritonclient encodes, the SDK decodes, and the
binary answers the SDK tests build are ones tritonclient reads the same way."""

from __future__ import annotations

import json
import struct

import pytest
from maaskit._http import HttpResponse
from maaskit._tasks import CLASSIFY
from maaskit.providers import KServeProvider
from maaskit.providers.kserve import decode_binary, encode_bytes

np = pytest.importorskip("numpy")
triton_http = pytest.importorskip("tritonclient.http")
triton_utils = pytest.importorskip("tritonclient.utils")


def test_bytes_serialized_by_tritonclient_decode_the_same() -> None:
    elements = [b"positive", "négatif".encode(), b"", b"\x00\xff"]
    # A 0-d array holding the whole buffer.
    serialized = triton_utils.serialize_byte_tensor(np.array(elements, dtype=np.object_))

    assert decode_binary("BYTES", serialized.item()) == elements
    assert encode_bytes(elements) == serialized.item()


@pytest.mark.parametrize(
    ("datatype", "dtype"), [("FP16", "<f2"), ("FP32", "<f4"), ("INT64", "<i8")]
)
def test_numpy_little_endian_buffers_decode_the_same(datatype: str, dtype: str) -> None:
    array = np.array([[1, -2, 3], [0.5 if datatype != "INT64" else 5, 0, 8]], dtype=dtype)

    assert decode_binary(datatype, array.tobytes()) == array.ravel().tolist()


def test_a_binary_answer_reads_the_same_in_tritonclient_and_the_sdk() -> None:
    labels = encode_bytes([b"positive", b"negative"])
    probs = struct.pack("<4f", 0.25, 0.75, 0.875, 0.125)
    header = json.dumps(
        {
            "model_name": "sentiment",
            "outputs": [
                {
                    "name": "label",
                    "datatype": "BYTES",
                    "shape": [2],
                    "parameters": {"binary_data_size": len(labels)},
                },
                {
                    "name": "probabilities",
                    "datatype": "FP32",
                    "shape": [2, 2],
                    "parameters": {"binary_data_size": len(probs)},
                },
            ],
        }
    ).encode()
    body = header + labels + probs

    theirs = triton_http.InferResult.from_response_body(body, header_length=len(header))
    headers = {"inference-header-content-length": str(len(header))}
    ours = KServeProvider(labels=["negative", "positive"]).parse_response(
        CLASSIFY, HttpResponse(200, headers, body)
    )

    assert [x.decode() for x in theirs.as_numpy("label")] == [r.label for r in ours.results]
    assert theirs.as_numpy("probabilities").tolist() == [r.probs for r in ours.results]
