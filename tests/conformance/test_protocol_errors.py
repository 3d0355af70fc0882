"""Bad input on the KServe, Hugging Face and Ollama routes: each protocol's own 4xx error
shape, never a 500, and the server keeps serving. Raw HTTP, because the official clients
refuse to send most of these."""

from __future__ import annotations

import gzip
import json
import struct
from typing import Any

import httpx
import pytest
from _support.server import ServerProcess

from ._helpers import EMBEDDING_MODEL, GENERATION_MODEL, still_serving

pytestmark = [pytest.mark.e2e]

INFER = f"/v2/models/{EMBEDDING_MODEL}/infer"


def post(
    server: ServerProcess, path: str, content: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}{path}",
        content=content,
        headers={**server.headers, "Content-Type": "application/json", **(headers or {})},
        timeout=60,
    )


def tensor(**fields: Any) -> dict[str, Any]:
    return {"name": "text", "datatype": "BYTES", "shape": [1], "data": ["hello"], **fields}


def binary_request(size: int, payload: bytes) -> tuple[bytes, dict[str, str]]:
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "text",
                    "datatype": "BYTES",
                    "shape": [1],
                    "parameters": {"binary_data_size": size},
                }
            ]
        }
    ).encode()
    return header + payload, {"Inference-Header-Content-Length": str(len(header))}


def element(text: bytes) -> bytes:
    return struct.pack("<I", len(text)) + text


KSERVE_CASES: list[tuple[str, str, bytes, dict[str, str], int, str]] = [
    ("malformed json", INFER, b'{"inputs": [', {}, 400, "JSON"),
    ("not an object", INFER, b"[1, 2]", {}, 400, "object"),
    ("no inputs", INFER, b'{"inputs": []}', {}, 400, "inputs"),
    (
        "wrong datatype",
        INFER,
        json.dumps({"inputs": [tensor(datatype="FP32", data=[1.5])]}).encode(),
        {},
        400,
        "BYTES",
    ),
    (
        "unknown datatype",
        INFER,
        json.dumps({"inputs": [tensor(datatype="TEXT")]}).encode(),
        {},
        400,
        "datatype",
    ),
    (
        "shape disagrees with data",
        INFER,
        json.dumps({"inputs": [tensor(shape=[3], data=["a", "b"])]}).encode(),
        {},
        400,
        "shape",
    ),
    (
        "data of the wrong kind",
        INFER,
        json.dumps({"inputs": [tensor(data=[42])]}).encode(),
        {},
        400,
        "strings",
    ),
    (
        "unknown input name",
        INFER,
        json.dumps({"inputs": [tensor(name="prompt")]}).encode(),
        {},
        400,
        "prompt",
    ),
    (
        "unknown output name",
        INFER,
        json.dumps({"inputs": [tensor()], "outputs": [{"name": "logits"}]}).encode(),
        {},
        400,
        "logits",
    ),
    (
        "unknown model",
        "/v2/models/no-such-model/infer",
        json.dumps({"inputs": [tensor()]}).encode(),
        {},
        404,
        "no-such-model",
    ),
    (
        "unknown version",
        f"/v2/models/{EMBEDDING_MODEL}/versions/9/infer",
        json.dumps({"inputs": [tensor()]}).encode(),
        {},
        404,
        "version",
    ),
    ("binary size beyond the body", INFER, *binary_request(50, element(b"hi")), 400, "50"),
    ("binary bytes left over", INFER, *binary_request(6, element(b"hi") + b"xx"), 400, "after"),
    ("binary element cut short", INFER, *binary_request(5, b"\x09\x00\x00\x00a"), 400, "overruns"),
    (
        "header length beyond the body",
        INFER,
        b'{"inputs": []}',
        {"Inference-Header-Content-Length": "9999"},
        400,
        "Inference-Header-Content-Length",
    ),
    (
        "gzip that does not decompress",
        INFER,
        b"not gzip at all",
        {"Content-Encoding": "gzip"},
        400,
        "decompress",
    ),
    (
        "gzip that inflates past the body limit",
        INFER,
        gzip.compress(b" " * (3 * 1024 * 1024)),
        {"Content-Encoding": "gzip"},
        413,
        "limit",
    ),
    (
        "unknown content encoding",
        INFER,
        b"{}",
        {"Content-Encoding": "br"},
        415,
        "br",
    ),
    (
        "generate on an embedding model",
        f"/v2/models/{EMBEDDING_MODEL}/generate",
        b'{"text_input": "hi"}',
        {},
        400,
        "text-generation",
    ),
]


@pytest.mark.parametrize(
    ("path", "content", "headers", "status", "mentions"),
    [case[1:] for case in KSERVE_CASES],
    ids=[case[0] for case in KSERVE_CASES],
)
def test_kserve_bad_requests(
    reference_server: ServerProcess,
    path: str,
    content: bytes,
    headers: dict[str, str],
    status: int,
    mentions: str,
) -> None:
    response = post(reference_server, path, content, headers)
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    assert mentions in body["error"]
    still_serving(reference_server)


HF_CASES: list[tuple[str, str, bytes, int]] = [
    ("malformed json", f"/models/{EMBEDDING_MODEL}", b"{nope", 400),
    ("inputs of the wrong type", f"/models/{EMBEDDING_MODEL}", b'{"inputs": 7}', 422),
    ("empty input", f"/models/{EMBEDDING_MODEL}", b'{"inputs": [""]}', 400),
    ("unknown model", "/models/no-such-model", b'{"inputs": "hi"}', 404),
    ("unknown model info", "/models/no-such-model/info", b"", 404),
    (
        "normalize of the wrong type",
        f"/models/{EMBEDDING_MODEL}/embed",
        b'{"inputs": "hi", "normalize": 3}',
        422,
    ),
    ("tgi on an embedding model", f"/models/{EMBEDDING_MODEL}/generate", b'{"inputs": "x"}', 400),
]


@pytest.mark.parametrize(
    ("path", "content", "status"), [c[1:] for c in HF_CASES], ids=[c[0] for c in HF_CASES]
)
def test_hf_bad_requests(
    reference_server: ServerProcess, path: str, content: bytes, status: int
) -> None:
    if path.endswith("/info"):
        response = httpx.get(
            f"{reference_server.base_url}{path}", headers=reference_server.headers, timeout=60
        )
    else:
        response = post(reference_server, path, content)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_type"}
    assert isinstance(body["error"], str)
    assert body["error"]
    still_serving(reference_server)


OLLAMA_CASES: list[tuple[str, str, bytes, int]] = [
    ("malformed json", "/api/embed", b'{"model": ', 400),
    ("missing model", "/api/embed", b'{"input": "hi"}', 400),
    ("input of the wrong type", "/api/embed", b'{"model": "all-minilm-l6-v2", "input": 5}', 400),
    ("unknown model", "/api/embed", b'{"model": "no-such-model", "input": "hi"}', 404),
    ("chat on an embedding model", "/api/chat", b'{"model": "all-minilm-l6-v2"}', 400),
]


@pytest.mark.parametrize(
    ("path", "content", "status"), [c[1:] for c in OLLAMA_CASES], ids=[c[0] for c in OLLAMA_CASES]
)
def test_ollama_bad_requests(
    reference_server: ServerProcess, path: str, content: bytes, status: int
) -> None:
    response = post(reference_server, path, content)
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    assert body["error"]
    still_serving(reference_server)


def test_generation_parameter_errors_in_each_shape(reference_server: ServerProcess) -> None:
    names = httpx.get(
        f"{reference_server.base_url}/v1/models", headers=reference_server.headers, timeout=60
    ).json()["data"]
    if GENERATION_MODEL not in {model["id"] for model in names}:
        pytest.skip(f"model {GENERATION_MODEL!r} is not built yet")
    kserve = post(
        reference_server,
        f"/v2/models/{GENERATION_MODEL}/generate",
        b'{"text_input": "hi", "parameters": {"temperature": "hot"}}',
    )
    assert kserve.status_code == 400
    assert "temperature" in kserve.json()["error"]
    tgi = post(
        reference_server,
        f"/models/{GENERATION_MODEL}/generate",
        b'{"inputs": "hi", "parameters": {"top_p": 1.5}}',
    )
    assert tgi.status_code == 422
    assert tgi.json()["error_type"] == "validation"
    ollama = post(
        reference_server,
        "/api/generate",
        json.dumps(
            {"model": GENERATION_MODEL, "prompt": "hi", "options": {"temperature": -1}}
        ).encode(),
    )
    assert ollama.status_code == 400
    assert "temperature" in ollama.json()["error"]
    still_serving(reference_server)
