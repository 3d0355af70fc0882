"""Answer shapes the official clients do not exercise: Ollama's default streaming, TEI's
single-text ``/predict``, the Inference API's batch input, TGI's ``/info``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _support.server import ServerProcess
from e2e._helpers import require_model

from ._helpers import (
    EMBEDDING_MODEL,
    GENERATION_MODEL,
    SENTIMENT_MODEL,
    TEXTS,
    TOLERANCE,
    openai_classes,
    openai_vectors,
)

pytestmark = [pytest.mark.e2e]


def post(server: ServerProcess, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.base_url}{path}", json=body, headers=server.headers, timeout=60)


def test_ollama_streams_ndjson_unless_told_otherwise(reference_server: ServerProcess) -> None:
    require_model(reference_server, GENERATION_MODEL)
    body = {"model": GENERATION_MODEL, "prompt": "The king", "options": {"num_predict": 3}}
    response = post(reference_server, "/api/generate", body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    last = lines[-1]
    assert last["done_reason"] in ("length", "stop")
    assert 1 <= last["eval_count"] <= 3
    for key in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(last[key], int)
        assert last[key] >= 0
    assert last["total_duration"] >= last["eval_duration"]


def test_legacy_ollama_embeddings_route(reference_server: ServerProcess) -> None:
    response = post(reference_server, "/api/embeddings", {"model": EMBEDDING_MODEL, "prompt": "a"})
    assert response.status_code == 200
    vector = response.json()["embedding"]
    expected = openai_vectors(reference_server, ["a"])[0]
    assert len(vector) == len(expected)
    assert max(abs(a - b) for a, b in zip(vector, expected, strict=True)) <= TOLERANCE


def test_inference_api_batch_and_tei_single_text(reference_server: ServerProcess) -> None:
    features = post(reference_server, f"/models/{EMBEDDING_MODEL}", {"inputs": TEXTS})
    assert features.status_code == 200
    rows = features.json()
    assert len(rows) == len(TEXTS)
    assert all(len(row) == 384 for row in rows)
    require_model(reference_server, SENTIMENT_MODEL)
    expected = openai_classes(reference_server, TEXTS)
    batch = post(reference_server, f"/models/{SENTIMENT_MODEL}", {"inputs": TEXTS}).json()
    assert [row[0]["label"] for row in batch] == [
        max(scores, key=scores.__getitem__) for scores in expected
    ]
    single = post(reference_server, f"/models/{SENTIMENT_MODEL}/predict", {"inputs": TEXTS[0]})
    assert single.status_code == 200
    flat = single.json()
    assert {item["label"] for item in flat} == set(expected[0])
    assert [item["score"] for item in flat] == sorted((i["score"] for i in flat), reverse=True)
    pair = post(reference_server, f"/models/{SENTIMENT_MODEL}/predict", {"inputs": TEXTS})
    assert pair.status_code == 422
    assert "pairs" in pair.json()["error"]


def test_tei_predict_reads_an_integral_top_k_as_the_integer(
    reference_server: ServerProcess,
) -> None:
    # The document says integer, and JSON Schema's integer takes 2.0 (it answered 422).
    require_model(reference_server, SENTIMENT_MODEL)
    body = {"inputs": TEXTS[0], "top_k": 2.0}
    answer = post(reference_server, f"/models/{SENTIMENT_MODEL}/predict", body)
    assert answer.status_code == 200
    assert len(answer.json()) == 2


def test_info_describes_the_endpoint(reference_server: ServerProcess) -> None:
    response = httpx.get(
        f"{reference_server.base_url}/models/{EMBEDDING_MODEL}/info",
        headers=reference_server.headers,
        timeout=60,
    )
    assert response.status_code == 200
    info = response.json()
    assert info["model_id"] == EMBEDDING_MODEL
    assert info["model_pipeline_tag"] == "feature-extraction"
    assert info["max_input_tokens"] > 0
    assert info["model_dtype"] == "float32"
