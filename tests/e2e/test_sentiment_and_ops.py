"""Classification in vLLM's shape, usage counting, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from _support.server import MODELS_DIR, ServerProcess
from tokenizers import Tokenizer

from ._helpers import EMBEDDING_MODEL, SENTIMENT_MODEL, metric, metric_samples, require_model

pytestmark = pytest.mark.e2e

# Plain statements of fact as the neutral cases. Known weakness, reported to the model's
# builder: timetable sentences ("The train leaves at 9 am ...") come out negative, likely
# because the training tweets' transport talk is mostly complaints.
CLEAR_CASES = [
    ("I love this, it is absolutely wonderful!", "positive"),
    ("Best day ever, thank you so much, I am so happy :)", "positive"),
    ("This is terrible, I hate it so much.", "negative"),
    ("Worst service ever, I am furious and disappointed.", "negative"),
    ("The report has three sections and an appendix.", "neutral"),
    ("The museum is located on Main Street.", "neutral"),
    ("The store opens at 9 on Saturdays.", "neutral"),
]


def token_count(model: str, texts: list[str]) -> int:
    tokenizer = Tokenizer.from_file(str(MODELS_DIR / model / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return sum(len(encoding.ids) for encoding in tokenizer.encode_batch(texts))


def test_ready_was_503_while_loading_and_health_answered(reference_server: ServerProcess) -> None:
    observations = reference_server.startup_observations
    assert observations[-1] == (200, 200)
    assert (200, 503) in observations[:-1], observations


def test_sentiment_labels_clear_sentences(reference_server: ServerProcess) -> None:
    require_model(reference_server, SENTIMENT_MODEL)
    texts = [text for text, _ in CLEAR_CASES]
    for path in ("/v1/classify", "/classify"):
        response = httpx.post(
            reference_server.base_url + path,
            json={"model": SENTIMENT_MODEL, "input": texts},
            headers=reference_server.headers,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["object"] == "list"
        assert body["model"] == SENTIMENT_MODEL
        assert body["id"].startswith("classify-")
        assert isinstance(body["created"], int)
        labels = [item["label"] for item in body["data"]]
        assert labels == [expected for _, expected in CLEAR_CASES]
        for index, item in enumerate(body["data"]):
            assert item["index"] == index
            assert item["num_classes"] == 3
            assert item["labels"] == ["negative", "neutral", "positive"]
            assert item["label"] == item["labels"][int(np.argmax(item["probs"]))]
            assert sum(item["probs"]) == pytest.approx(1.0, abs=1e-5)
        assert body["usage"]["prompt_tokens"] == token_count(SENTIMENT_MODEL, texts)


def test_embedding_usage_counts_tokens_like_the_tokenizer(reference_server: ServerProcess) -> None:
    texts = ["Hello world!", "Tokenizers count [CLS] and [SEP] too.", "naïve café ☕"]
    response = httpx.post(
        f"{reference_server.v1}/embeddings",
        json={"model": EMBEDDING_MODEL, "input": texts},
        headers=reference_server.headers,
        timeout=30,
    )
    usage = response.json()["usage"]
    assert usage["prompt_tokens"] == usage["total_tokens"] == token_count(EMBEDDING_MODEL, texts)


def test_models_listing_has_task_details(reference_server: ServerProcess) -> None:
    response = httpx.get(f"{reference_server.v1}/models", headers=reference_server.headers)
    cards = {card["id"]: card for card in response.json()["data"]}
    assert cards[EMBEDDING_MODEL]["task"] == "embeddings"
    assert cards[EMBEDDING_MODEL]["dimensions"] == 384
    assert cards[EMBEDDING_MODEL]["object"] == "model"
    if SENTIMENT_MODEL in cards:
        assert cards[SENTIMENT_MODEL]["labels"] == ["negative", "neutral", "positive"]
    one = httpx.get(
        f"{reference_server.v1}/models/{EMBEDDING_MODEL}", headers=reference_server.headers
    )
    assert one.json()["id"] == EMBEDDING_MODEL


def test_metrics_count_requests_tokens_and_batches(reference_server: ServerProcess) -> None:
    before = metric_samples(reference_server)
    response = httpx.post(
        f"{reference_server.v1}/embeddings",
        json={"model": EMBEDDING_MODEL, "input": ["count me", "and me"]},
        headers=reference_server.headers,
        timeout=30,
    )
    tokens = response.json()["usage"]["prompt_tokens"]
    after = metric_samples(reference_server)
    labels = {"route": "/v1/embeddings", "method": "POST", "status": "200"}
    assert metric(after, "maaskit_requests_total", **labels) == (
        metric(before, "maaskit_requests_total", **labels) + 1
    )
    kind = {"model": EMBEDDING_MODEL, "kind": "prompt"}
    assert metric(after, "maaskit_tokens_total", **kind) == (
        metric(before, "maaskit_tokens_total", **kind) + tokens
    )
    assert metric(after, "maaskit_batch_size_sum", model=EMBEDDING_MODEL) >= (
        metric(before, "maaskit_batch_size_sum", model=EMBEDDING_MODEL) + 2
    )
    assert metric(after, "maaskit_model_ready", model=EMBEDDING_MODEL) == 1
    assert (
        "maaskit_request_duration_seconds_count",
        frozenset({("route", "/v1/embeddings"), ("method", "POST")}),
    ) in after
    assert ("maaskit_queue_depth", frozenset({("model", EMBEDDING_MODEL)})) in after


def test_openapi_describes_every_route(reference_server: ServerProcess) -> None:
    response = httpx.get(
        f"{reference_server.base_url}/openapi.json", headers=reference_server.headers
    )
    document = response.json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path, method in [
        ("/v1/models", "get"),
        ("/v1/models/{model}", "get"),
        ("/v1/embeddings", "post"),
        ("/v1/classify", "post"),
        ("/classify", "post"),
        ("/health", "get"),
        ("/ready", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
    ]:
        assert method in paths[path], path
        assert paths[path][method]["summary"]
    assert "requestBody" in paths["/v1/embeddings"]["post"]
