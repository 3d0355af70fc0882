"""Every bad input answers its 4xx in OpenAI's error shape, and the server keeps serving."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _support.server import ServerProcess

from ._helpers import EMBEDDING_MODEL, metric, metric_samples

pytestmark = pytest.mark.e2e

TOO_LONG = "word " * 600  # well over the model's max_input_tokens


@pytest.fixture(scope="module")
def http(reference_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=reference_server.base_url, headers=reference_server.headers, timeout=30
    ) as client:
        yield client


def assert_openai_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["type"], str)
    assert error["code"] == code
    assert "Traceback" not in response.text
    return dict(error)


def embed(http: httpx.Client, body: Any, **kwargs: Any) -> httpx.Response:
    return http.post("/v1/embeddings", json=body, **kwargs)


def test_no_key_wrong_key_right_key(reference_server: ServerProcess) -> None:
    url = f"{reference_server.v1}/models"
    assert_openai_error(httpx.get(url), 401, "missing_api_key")
    wrong = httpx.get(url, headers={"Authorization": "Bearer not-the-key"})
    error = assert_openai_error(wrong, 401, "invalid_api_key")
    assert "not-the-key" not in error["message"]
    assert httpx.get(url, headers={"api-key": "not-the-key"}).status_code == 401
    assert httpx.get(url, headers=reference_server.headers).status_code == 200
    assert httpx.get(url, headers={"api-key": reference_server.api_key}).status_code == 200
    # Probes stay open for orchestrators.
    assert httpx.get(f"{reference_server.base_url}/health").status_code == 200
    assert httpx.get(f"{reference_server.base_url}/ready").status_code == 200
    assert httpx.get(f"{reference_server.base_url}/v2/health/live").status_code == 200
    assert httpx.get(f"{reference_server.base_url}/v2/health/ready").status_code == 200
    # ...but nothing else under /v2.
    assert httpx.get(f"{reference_server.base_url}/v2/models/sentiment").status_code == 401


def test_body_over_the_limit_is_413(http: httpx.Client) -> None:
    big = b'{"model": "all-minilm-l6-v2", "input": "' + b"a" * (3 * 1024 * 1024) + b'"}'
    json_type = {"Content-Type": "application/json"}
    declared = http.post("/v1/embeddings", content=big, headers=json_type)
    assert_openai_error(declared, 413, "request_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: enforced while streaming in
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    streamed = http.post("/v1/embeddings", content=chunks(), headers=json_type)
    assert_openai_error(streamed, 413, "request_too_large")


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({"model": "no-such-model", "input": "x"}, 404, "model_not_found", "model"),
        ({"input": "x"}, 400, "missing", "model"),
        ({"model": 5, "input": "x"}, 400, "invalid_type", "model"),
        ({"model": EMBEDDING_MODEL}, 400, "missing", "input"),
        ({"model": EMBEDDING_MODEL, "input": ""}, 400, "empty_input", "input"),
        ({"model": EMBEDDING_MODEL, "input": []}, 400, "empty_input", "input"),
        ({"model": EMBEDDING_MODEL, "input": ["ok", ""]}, 400, "empty_input", "input"),
        ({"model": EMBEDDING_MODEL, "input": [[]]}, 400, "empty_input", "input"),
        ({"model": EMBEDDING_MODEL, "input": 42}, 400, "invalid_type", "input"),
        ({"model": EMBEDDING_MODEL, "input": {"a": 1}}, 400, "invalid_type", "input"),
        ({"model": EMBEDDING_MODEL, "input": ["a", 3]}, 400, "invalid_type", "input"),
        ({"model": EMBEDDING_MODEL, "input": [None]}, 400, "invalid_type", "input"),
        ({"model": EMBEDDING_MODEL, "input": [[1, 2.5]]}, 400, "invalid_type", "input"),
        ({"model": EMBEDDING_MODEL, "input": [[101, 10**9]]}, 400, "invalid_token_id", "input"),
        ({"model": EMBEDDING_MODEL, "input": [[-1]]}, 400, "invalid_token_id", "input"),
        ({"model": EMBEDDING_MODEL, "input": ["x"] * 2049}, 400, "too_many_inputs", "input"),
        ({"model": EMBEDDING_MODEL, "input": TOO_LONG}, 400, "context_length_exceeded", "input"),
        (
            {"model": EMBEDDING_MODEL, "input": "x", "encoding_format": "hex"},
            400,
            "invalid_value",
            "encoding_format",
        ),
        (
            {"model": EMBEDDING_MODEL, "input": "x", "dimensions": "384"},
            400,
            "unsupported_dimensions",
            "dimensions",
        ),
        (
            {"model": EMBEDDING_MODEL, "input": "x", "truncate": "yes"},
            400,
            "invalid_value",
            "truncate",
        ),
        (
            {"model": EMBEDDING_MODEL, "input": "x", "truncate_prompt_tokens": 0},
            400,
            "invalid_value",
            "truncate_prompt_tokens",
        ),
    ],
)
def test_bad_embedding_requests(
    http: httpx.Client, body: dict[str, Any], status: int, code: str, param: str
) -> None:
    error = assert_openai_error(embed(http, body), status, code)
    assert error["param"] == param


def test_over_long_input_names_the_limit_and_truncation_fixes_it(http: httpx.Client) -> None:
    error = assert_openai_error(
        embed(http, {"model": EMBEDDING_MODEL, "input": TOO_LONG}), 400, "context_length_exceeded"
    )
    assert "max_input_tokens" in error["message"]
    limit = int(error["message"].split("limit of ")[1].split()[0])
    truncated = embed(http, {"model": EMBEDDING_MODEL, "input": TOO_LONG, "truncate": True})
    assert truncated.status_code == 200
    assert truncated.json()["usage"]["prompt_tokens"] == limit
    vllm_style = embed(
        http, {"model": EMBEDDING_MODEL, "input": TOO_LONG, "truncate_prompt_tokens": 16}
    )
    assert vllm_style.json()["usage"]["prompt_tokens"] == 16


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b'{"model": "all-minilm-l6-v2", "input": ', "invalid_json"),
        (b"not json at all", "invalid_json"),
        (b"", "invalid_json"),
        (b'["a list", "not an object"]', "invalid_json"),
        (b"\xff\xfe garbage bytes", "invalid_json"),
    ],
)
def test_malformed_bodies(http: httpx.Client, content: bytes, code: str) -> None:
    for path in ("/v1/embeddings", "/v1/classify", "/classify"):
        response = http.post(path, content=content, headers={"content-type": "application/json"})
        assert_openai_error(response, 400, code)


def test_wrong_route_and_method_and_task(http: httpx.Client) -> None:
    assert_openai_error(http.get("/v1/nothing-here"), 404, "not_found")
    assert_openai_error(http.get("/v1/embeddings"), 405, "method_not_allowed")
    assert_openai_error(http.get("/v1/models/no-such-model"), 404, "model_not_found")
    wrong_task = http.post("/v1/classify", json={"model": EMBEDDING_MODEL, "input": "x"})
    assert_openai_error(wrong_task, 400, "wrong_model_task")


def test_server_still_serves_and_no_error_reached_the_last_resort_handler(
    reference_server: ServerProcess, http: httpx.Client
) -> None:
    ok = embed(http, {"model": EMBEDDING_MODEL, "input": "still alive", "encoding_format": "float"})
    assert ok.status_code == 200
    assert len(ok.json()["data"][0]["embedding"]) == 384
    assert metric(metric_samples(reference_server), "maaskit_unhandled_errors_total") == 0
    log = reference_server.log_text()
    assert "Traceback" not in log
    assert reference_server.api_key not in log
    assert "not-the-key" not in log
