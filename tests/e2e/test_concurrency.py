"""Dynamic batching seen from outside: concurrent answers equal one-by-one answers, batches
larger than 1 happen, and liveness answers while a large batch is computing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import numpy as np
import pytest
from _support.server import ServerProcess

from ._helpers import EMBEDDING_MODEL, SENTIMENT_MODEL, metric, metric_samples, require_model

pytestmark = pytest.mark.e2e

TOPICS = ["the weather", "a football match", "my new laptop", "the train delay", "dinner"]
# Padding is masked out, so a row's answer does not depend on its batch mates: only float
# rounding may differ.
EMBEDDING_ATOL = 1e-5
PROBABILITY_ATOL = 1e-5


def sentences(count: int) -> list[str]:
    return [
        f"Sentence {i}: a remark about {TOPICS[i % len(TOPICS)]}" + " indeed" * (i % 7)
        for i in range(count)
    ]


def batches_above_one(server: ServerProcess, model: str) -> float:
    samples = metric_samples(server)
    total = metric(samples, "maaskit_batch_size_count", model=model)
    single = metric(samples, "maaskit_batch_size_bucket", model=model, le="1.0")
    return total - single


async def post_each(
    client: httpx.AsyncClient, path: str, model: str, texts: list[str]
) -> list[dict[str, Any]]:
    async def one(text: str) -> dict[str, Any]:
        response = await client.post(path, json={"model": model, "input": text})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return list(await asyncio.gather(*(one(text) for text in texts)))


def async_client(server: ServerProcess) -> httpx.AsyncClient:
    # Made inside each test: an async fixture would live on another event loop than the test.
    limits = httpx.Limits(max_connections=80, max_keepalive_connections=80)
    return httpx.AsyncClient(
        base_url=server.base_url, headers=server.headers, timeout=120, limits=limits
    )


async def test_64_concurrent_embeddings_equal_one_by_one(reference_server: ServerProcess) -> None:
    texts = sentences(64)
    async with async_client(reference_server) as client:
        one_by_one = []
        for text in texts:
            response = await client.post(
                "/v1/embeddings", json={"model": EMBEDDING_MODEL, "input": text}
            )
            one_by_one.append(response.json())
        merged_before = batches_above_one(reference_server, EMBEDDING_MODEL)
        concurrent = await post_each(client, "/v1/embeddings", EMBEDDING_MODEL, texts)
        merged_after = batches_above_one(reference_server, EMBEDDING_MODEL)

    alone = np.array([r["data"][0]["embedding"] for r in one_by_one])
    together = np.array([r["data"][0]["embedding"] for r in concurrent])
    np.testing.assert_allclose(together, alone, atol=EMBEDDING_ATOL)
    assert [r["usage"] for r in concurrent] == [r["usage"] for r in one_by_one]
    assert merged_after > merged_before, "no batch larger than 1 was formed"


async def test_64_concurrent_classifications_equal_one_by_one(
    reference_server: ServerProcess,
) -> None:
    require_model(reference_server, SENTIMENT_MODEL)
    texts = sentences(64)
    async with async_client(reference_server) as client:
        one_by_one = []
        for text in texts:
            response = await client.post(
                "/v1/classify", json={"model": SENTIMENT_MODEL, "input": text}
            )
            one_by_one.append(response.json()["data"][0])
        merged_before = batches_above_one(reference_server, SENTIMENT_MODEL)
        answers = await post_each(client, "/v1/classify", SENTIMENT_MODEL, texts)
        merged_after = batches_above_one(reference_server, SENTIMENT_MODEL)

    concurrent = [r["data"][0] for r in answers]
    assert [r["label"] for r in concurrent] == [r["label"] for r in one_by_one]
    np.testing.assert_allclose(
        [r["probs"] for r in concurrent], [r["probs"] for r in one_by_one], atol=PROBABILITY_ATOL
    )
    assert merged_after > merged_before, "no batch larger than 1 was formed"


async def test_health_answers_while_a_large_batch_runs(reference_server: ServerProcess) -> None:
    def batches_done() -> float:
        samples = metric_samples(reference_server)
        return metric(samples, "maaskit_batch_size_count", model=EMBEDDING_MODEL)

    big = [text + " and some more words to make it longer" * 3 for text in sentences(512)]
    before = batches_done()
    answered_mid_request = 0
    async with async_client(reference_server) as client:
        work = asyncio.create_task(
            client.post("/v1/embeddings", json={"model": EMBEDDING_MODEL, "input": big})
        )
        deadline = time.monotonic() + 120
        while not work.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            # Only count /health answers given after the big request's first batch finished
            # and before its last one did: the server was demonstrably mid-work.
            if await asyncio.to_thread(batches_done) > before and not work.done():
                health = await client.get("/health")
                assert health.status_code == 200
                if not work.done():
                    answered_mid_request += 1
        response = await work
    assert response.status_code == 200
    assert len(response.json()["data"]) == 512
    assert answered_mid_request >= 1
