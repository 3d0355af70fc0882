"""Field checks of the OpenAI/vLLM routes, in-process on the default models, found by the
OpenAPI fuzz (``test_openapi_fuzz``): values the document calls invalid are a 400 naming the
field, values it calls valid are read."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from _support.server import MODELS_DIR
from maaskit_server.app import create_app
from maaskit_server.settings import ServerSettings
from starlette.testclient import TestClient

EMBEDDER, LM = "all-minilm-l6-v2", "tiny-shakespeare"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("models")
    for name in (EMBEDDER, LM):
        (root / name).symlink_to(MODELS_DIR / name, target_is_directory=True)
    app = create_app(ServerSettings(models_dir=root, intra_op_threads=1))
    with TestClient(app) as client:
        deadline = time.monotonic() + 120  # a bound against a hang, not a speed assertion
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, "not ready in 120 s"
            time.sleep(0.05)
        yield client


@pytest.mark.parametrize(
    ("field", "value"),
    [("encoding_format", False), ("encoding_format", ""), ("user", {}), ("user", 5)],
)
def test_embeddings_refuse_wrong_types(client: TestClient, field: str, value: Any) -> None:
    # encoding_format false or "" read as "float" before; a user object was ignored.
    body = {"model": EMBEDDER, "input": "hello", field: value}
    response = client.post("/v1/embeddings", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == field


def test_embeddings_truncated_to_one_token_is_answered(client: TestClient) -> None:
    body = {"model": EMBEDDER, "input": "hello big world", "truncate_prompt_tokens": 1}
    response = client.post("/v1/embeddings", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["prompt_tokens"] == 2  # [CLS] [SEP]


@pytest.mark.parametrize("path", ["/detokenize", "/v1/detokenize"])
def test_detokenize_reads_integral_floats(client: TestClient, path: str) -> None:
    ints = client.post(path, json={"model": LM, "tokens": [40, 41, 42]})
    floats = client.post(path, json={"model": LM, "tokens": [40.0, 41, 42.0]})
    assert ints.status_code == floats.status_code == 200, floats.text
    assert floats.json() == ints.json()


@pytest.mark.parametrize("tokens", [[1.5], [True], [-1], "1"])
def test_detokenize_still_refuses_non_ids(client: TestClient, tokens: Any) -> None:
    response = client.post("/detokenize", json={"model": LM, "tokens": tokens})
    assert response.status_code == 400
