"""``Idempotency-Key`` on the real server: replays without a second model run, a concurrent
duplicate waits for the first, a reused key with another body is a 422 in the protocol's shape,
and injected faults are never what gets replayed."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import httpx
import pytest
from maaskit.testing import MaaSKitServer
from prometheus_client.parser import text_string_to_metric_families

EMBEDDING_MODEL = "all-minilm-l6-v2"
BODY = {"model": EMBEDDING_MODEL, "input": ["the same request twice"]}


def inference_calls(server: MaaSKitServer) -> float:
    """How many onnxruntime calls the embedding model made (the server's own histogram)."""
    for family in text_string_to_metric_families(server.metrics_text()):
        for sample in family.samples:
            if (
                sample.name == "maaskit_inference_duration_seconds_count"
                and sample.labels.get("model") == EMBEDDING_MODEL
            ):
                return float(sample.value)
    return 0.0


def post(
    server: MaaSKitServer, key: str, body: Any = BODY, path: str = "/v1/embeddings", **headers: str
) -> httpx.Response:
    all_headers = {**server.headers, "Idempotency-Key": key, **headers}
    return httpx.post(server.url + path, json=body, headers=all_headers, timeout=30)


def new_key() -> str:
    return "test-" + secrets.token_hex(8)


def test_a_repeat_replays_the_answer_without_running_the_model(
    maaskit_server: MaaSKitServer,
) -> None:
    key = new_key()
    first = post(maaskit_server, key)
    runs = inference_calls(maaskit_server)
    stats = maaskit_server.idempotency_stats()

    second = post(maaskit_server, key)

    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert inference_calls(maaskit_server) == runs
    after = maaskit_server.idempotency_stats()
    assert after["replayed"] == stats["replayed"] + 1
    assert after["executed"] == stats["executed"]


def test_without_a_key_every_request_runs(maaskit_server: MaaSKitServer) -> None:
    runs = inference_calls(maaskit_server)
    for _ in range(2):
        response = httpx.post(
            f"{maaskit_server.openai_url}/embeddings",
            json=BODY,
            headers=maaskit_server.headers,
            timeout=30,
        )
        assert response.status_code == 200
    assert inference_calls(maaskit_server) == runs + 2


def test_a_concurrent_duplicate_waits_for_the_first(maaskit_server: MaaSKitServer) -> None:
    key = new_key()
    before = maaskit_server.idempotency_stats()
    results: dict[str, httpx.Response] = {}

    def first() -> None:
        # The model runs at once; the answer is then held 1.5 s before its headers go out.
        results["first"] = post(maaskit_server, key, **{"X-MaaSKit-Fault": "latency_ms=1500"})

    thread = threading.Thread(target=first)
    thread.start()
    deadline = time.monotonic() + 10
    while maaskit_server.idempotency_stats()["in_flight"] == 0:
        assert time.monotonic() < deadline, "the first request never started"
        time.sleep(0.02)
    results["second"] = post(maaskit_server, key)
    thread.join(timeout=30)

    after = maaskit_server.idempotency_stats()
    assert results["first"].status_code == results["second"].status_code == 200
    assert results["second"].content == results["first"].content
    assert results["second"].headers["idempotent-replayed"] == "true"
    assert after["executed"] - before["executed"] == 1
    assert after["waited"] - before["waited"] == 1
    assert after["replayed"] - before["replayed"] == 1


def test_a_key_reused_with_another_body_is_a_422_in_openai_shape(
    maaskit_server: MaaSKitServer,
) -> None:
    key = new_key()
    assert post(maaskit_server, key).status_code == 200
    other = post(maaskit_server, key, {**BODY, "input": ["something else"]})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert other.json()["error"]["param"] == "Idempotency-Key"


def test_a_key_reused_on_kserve_is_a_422_in_kserve_shape(maaskit_server: MaaSKitServer) -> None:
    key = new_key()
    path = f"/v2/models/{EMBEDDING_MODEL}/infer"
    tensor = {"name": "text", "shape": [1], "datatype": "BYTES", "data": ["one"]}
    assert post(maaskit_server, key, {"inputs": [tensor]}, path).status_code == 200
    changed = {"inputs": [{**tensor, "data": ["two"]}]}
    other = post(maaskit_server, key, changed, path)
    assert other.status_code == 422
    assert isinstance(other.json()["error"], str)
    assert "Idempotency-Key" in other.json()["error"]


def test_an_injected_status_is_never_the_replayed_answer(maaskit_server: MaaSKitServer) -> None:
    key = new_key()
    before = maaskit_server.idempotency_stats()
    faulted = post(maaskit_server, key, **{"X-MaaSKit-Fault": "status=503; times=1"})
    assert faulted.status_code == 503
    retried = post(maaskit_server, key, **{"X-MaaSKit-Fault": "status=503; times=1"})
    assert retried.status_code == 200
    assert "idempotent-replayed" not in retried.headers
    after = maaskit_server.idempotency_stats()
    assert after["executed"] - before["executed"] == 1
    assert after["replayed"] == before["replayed"]


def test_a_real_client_error_is_replayed_as_is(maaskit_server: MaaSKitServer) -> None:
    key = new_key()
    bad = {"model": EMBEDDING_MODEL, "input": []}
    first = post(maaskit_server, key, bad)
    second = post(maaskit_server, key, bad)
    assert first.status_code == second.status_code == 400
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"


def test_keys_are_scoped_to_the_credentials(maaskit_server: MaaSKitServer) -> None:
    # The same key under another API key is another request (no 422, no replay).
    key = new_key()
    assert post(maaskit_server, key).status_code == 200
    other_key_headers = {"api-key": maaskit_server.api_key, "Idempotency-Key": key}
    response = httpx.post(
        f"{maaskit_server.openai_url}/embeddings",
        json={**BODY, "input": ["different body, different tenant"]},
        headers=other_key_headers,
        timeout=30,
    )
    assert response.status_code == 200
    assert "idempotent-replayed" not in response.headers


@pytest.mark.parametrize("length", [256, 1000])
def test_an_overlong_key_is_refused(maaskit_server: MaaSKitServer, length: int) -> None:
    response = post(maaskit_server, "k" * length)
    assert response.status_code == 400


def idempotency_metric(server: MaaSKitServer, outcome: str) -> float:
    for family in text_string_to_metric_families(server.metrics_text()):
        for sample in family.samples:
            if (
                sample.name == "maaskit_idempotency_requests_total"
                and sample.labels.get("outcome") == outcome
            ):
                return float(sample.value)
    return 0.0


def test_metrics_count_executions_and_replays(maaskit_server: MaaSKitServer) -> None:
    executed = idempotency_metric(maaskit_server, "executed")
    replayed = idempotency_metric(maaskit_server, "replayed")
    key = new_key()
    for _ in range(3):
        assert post(maaskit_server, key).status_code == 200
    assert idempotency_metric(maaskit_server, "executed") == executed + 1
    assert idempotency_metric(maaskit_server, "replayed") == replayed + 2
