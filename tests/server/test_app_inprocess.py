"""The app in-process (Starlette TestClient) on the real committed MiniLM model.

A load gate holds background loading so readiness is observed deterministically; a broken folder
and a folder of an unknown task sit next to the real model to show the rest still serves.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx2
import numpy as np
import pytest
from _support.server import MODELS_DIR
from maaskit_server.app import create_app
from maaskit_server.inputs import InputError
from maaskit_server.runtimes._encoder import Encoded, PendingInput
from maaskit_server.runtimes.embeddings import EmbeddingRuntime
from maaskit_server.settings import ServerSettings
from maaskit_server.state import AppState
from starlette.testclient import TestClient

MODEL = "all-minilm-l6-v2"


@pytest.fixture(scope="module")
def gated() -> Iterator[tuple[TestClient, threading.Event]]:
    root = Path(__import__("tempfile").mkdtemp(prefix="maaskit-repo-"))
    (root / MODEL).symlink_to(MODELS_DIR / MODEL, target_is_directory=True)
    broken = root / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    odd = root / "odd-task"
    odd.mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        (odd / name).write_bytes(b"")
    (odd / "maaskit.json").write_text(json.dumps({"task": "text-to-speech"}))
    gate = threading.Event()
    settings = ServerSettings(models_dir=root, intra_op_threads=1, max_queue_size=100)
    app = create_app(settings, load_gate=gate)
    with TestClient(app) as client:
        yield client, gate
    gate.set()


def wait_ready(client: TestClient) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if client.get("/ready").status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError("not ready in 120 s")


def test_ready_is_503_until_models_answered_and_health_always_200(
    gated: tuple[TestClient, threading.Event],
) -> None:
    client, gate = gated
    assert client.get("/health").status_code == 200
    held = client.get("/ready")
    assert held.status_code == 503
    assert held.json()["models"][MODEL]["status"] == "pending"
    early = client.post("/v1/embeddings", json={"model": MODEL, "input": "too early"})
    assert early.status_code == 503
    assert early.json()["error"]["code"] == "model_loading"
    assert early.headers["retry-after"] == "1"

    gate.set()
    wait_ready(client)
    models = client.get("/ready").json()["models"]
    assert models[MODEL]["status"] == "ready"
    assert models["broken"]["status"] == "failed"
    assert "model.onnx" in models["broken"]["reason"]
    assert models["odd-task"]["status"] == "failed"
    assert "text-to-speech" in models["odd-task"]["reason"]
    assert [card["id"] for card in client.get("/v1/models").json()["data"]] == [MODEL]
    ok = client.post("/v1/embeddings", json={"model": MODEL, "input": "now it works"})
    assert ok.status_code == 200
    broken = client.post("/v1/embeddings", json={"model": "broken", "input": "x"})
    assert broken.status_code == 503  # configured but not loadable: not a 404 (#18)
    assert broken.json()["error"]["code"] == "model_failed_to_load"
    assert broken.json()["error"]["message"] == "model 'broken' failed to load: missing model.onnx"


def test_batched_inference_equals_unbatched(gated: tuple[TestClient, threading.Event]) -> None:
    client, gate = gated
    gate.set()
    wait_ready(client)
    state: AppState = client.app.state.maaskit  # type: ignore[attr-defined]
    runtime = state.repository.runtime(MODEL, EmbeddingRuntime)
    texts = [
        f"Short {i}." if i % 2 else f"A much longer sentence number {i}, " * 3 for i in range(64)
    ]
    ids = runtime.tokenizer.encode(texts)
    batched = np.stack(runtime._infer_batch(ids, runtime.session))
    alone = np.stack([runtime.infer_unbatched(row) for row in ids])
    np.testing.assert_allclose(batched, alone, atol=1e-5)


def test_request_larger_than_the_queue_is_400(gated: tuple[TestClient, threading.Event]) -> None:
    client, gate = gated
    gate.set()
    wait_ready(client)
    response = client.post("/v1/embeddings", json={"model": MODEL, "input": ["x"] * 101})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("too_many_inputs", "input")
    assert "max_queue_size" in error["message"]


def test_full_queue_answers_429_with_retry_after(gated: tuple[TestClient, threading.Event]) -> None:
    client, gate = gated
    gate.set()
    wait_ready(client)
    state: AppState = client.app.state.maaskit  # type: ignore[attr-defined]
    batcher = state.repository.runtime(MODEL, EmbeddingRuntime).batcher
    # Hold the real runner so the queue fills deterministically (the model still computes).
    runner_gate = threading.Event()
    runner_entered = threading.Event()
    real_runner = batcher._run_batch

    def held_runner(batch: Sequence[PendingInput]) -> Sequence[Encoded | InputError]:
        runner_entered.set()
        assert runner_gate.wait(60)
        return real_runner(batch)

    batcher._run_batch = held_runner
    try:

        def post(count: int) -> httpx2.Response:
            return client.post("/v1/embeddings", json={"model": MODEL, "input": ["x"] * count})

        with ThreadPoolExecutor(2) as pool:
            try:
                running = pool.submit(post, 60)  # taken by the worker, held in the runner
                wait_until(runner_entered.is_set)
                queued = pool.submit(post, 80)  # waits in the queue: 80 of 100 places
                wait_until(lambda: batcher.queue_depth == 80)
                rejected = post(30)
            finally:
                runner_gate.set()  # before the pool waits for its threads
            assert running.result(60).status_code == 200
            assert queued.result(60).status_code == 200
    finally:
        runner_gate.set()
        batcher._run_batch = real_runner
    assert rejected.status_code == 429
    assert rejected.headers["retry-after"] == "1"
    assert rejected.json()["error"]["code"] == "queue_full"
    assert post(30).status_code == 200


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in 30 s"
        time.sleep(0.01)


def test_tokenized_in_the_batch_an_over_long_input_fails_only_its_request(
    gated: tuple[TestClient, threading.Event],
) -> None:
    client, gate = gated
    gate.set()
    wait_ready(client)
    state: AppState = client.app.state.maaskit  # type: ignore[attr-defined]
    runtime = state.repository.runtime(MODEL, EmbeddingRuntime)
    short = ["a short one", "another short sentence"]
    too_long = "word " * 600
    # A held first batch lets both requests queue, so they share the next batch.
    runner_gate = threading.Event()
    runner_entered = threading.Event()
    real_runner = runtime.batcher._run_batch
    batches: list[int] = []

    def held_runner(batch: Sequence[PendingInput]) -> Sequence[Encoded | InputError]:
        runner_entered.set()
        assert runner_gate.wait(60)
        batches.append(len(batch))
        return real_runner(batch)

    def post(inputs: list[str]) -> httpx2.Response:
        return client.post("/v1/embeddings", json={"model": MODEL, "input": inputs})

    runtime.batcher._run_batch = held_runner
    # Batches by count only: these inputs are of four length classes, which a token budget
    # would run apart (test_batching.py tests that); here they must share one batch.
    limits = runtime.batcher.limits
    runtime.batcher.limits = replace(limits, max_batch_tokens=None)
    try:
        with ThreadPoolExecutor(3) as pool:
            blocker = pool.submit(post, ["held"])
            wait_until(runner_entered.is_set)
            good = pool.submit(post, short)
            wait_until(lambda: runtime.batcher.queue_depth == 2)
            bad = pool.submit(post, ["ok", too_long])
            wait_until(lambda: runtime.batcher.queue_depth == 4)
            runner_gate.set()
            responses = [future.result(60) for future in (blocker, good, bad)]
    finally:
        runner_gate.set()
        runtime.batcher._run_batch = real_runner
        runtime.batcher.limits = limits
    assert batches == [1, 4]
    blocked, good_response, bad_response = responses
    assert blocked.status_code == 200
    assert bad_response.status_code == 400
    error = bad_response.json()["error"]
    assert (error["code"], error["param"]) == ("context_length_exceeded", "input")
    assert error["message"].startswith("input[1] has ")
    assert "limit of 256 tokens" in error["message"]
    assert good_response.status_code == 200
    body = good_response.json()
    ids = runtime.tokenizer.encode(short)
    assert body["usage"]["prompt_tokens"] == sum(len(row) for row in ids)
    vectors = np.array([row["embedding"] for row in body["data"]], dtype=np.float32)
    alone = np.stack([runtime.infer_unbatched(row) for row in ids])
    np.testing.assert_allclose(vectors, alone, atol=1e-5)
