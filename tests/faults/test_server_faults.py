"""Status, reset and latency faults on the real reference server (the plugin's ``maaskit_server``
fixture: ``python -m maaskit_server --enable-faults`` on a loopback port, real MiniLM model),
on every protocol's routes, and the SDK's retries and typed errors against them."""

from __future__ import annotations

from typing import Any

import httpx
import maaskit
import pytest
from maaskit.testing import MaaSKitServer

EMBEDDING_MODEL = "all-minilm-l6-v2"
FAST_RETRIES = maaskit.RetryPolicy(initial_backoff=0.01)


def embed_client(server: MaaSKitServer, fault: str | None = None, **options: Any) -> maaskit.Client:
    options.setdefault("retry_policy", FAST_RETRIES)
    headers = {"X-MaaSKit-Fault": fault} if fault else None
    return server.client(default_headers=headers, **options)


def attempts_recorder() -> tuple[list[int], Any]:
    attempts: list[int] = []
    return attempts, lambda event: attempts.append(event.attempt)


RETRYABLE = [
    (429, maaskit.RateLimitError),
    (500, maaskit.ServerError),
    (502, maaskit.ServerError),
    (503, maaskit.ServerError),
    (529, maaskit.ServerError),
]


@pytest.mark.parametrize(("status", "error_class"), RETRYABLE)
def test_status_for_the_next_two_attempts_is_retried_to_success(
    maaskit_server: MaaSKitServer, status: int, error_class: type[Exception]
) -> None:
    attempts, hook = attempts_recorder()
    sdk = embed_client(maaskit_server, f"status={status}; times=2; retry_after=0", on_attempt=hook)
    result = sdk.embed(model=EMBEDDING_MODEL, input=["retry me"])
    assert len(result.vectors[0]) == 384
    assert attempts == [1, 2, 3]
    assert maaskit_server.faults.injected() == {f"status_{status}": 2}


@pytest.mark.parametrize(("status", "error_class"), RETRYABLE)
def test_status_on_every_attempt_raises_the_typed_error(
    maaskit_server: MaaSKitServer, status: int, error_class: type[maaskit.APIStatusError]
) -> None:
    sdk = embed_client(maaskit_server, f"status={status}; retry_after=0")
    with pytest.raises(error_class) as caught:
        sdk.embed(model=EMBEDDING_MODEL, input=["never"])
    assert caught.value.status_code == status
    assert caught.value.attempts == 3
    assert caught.value.provider_message == f"Injected fault: status {status}."


def test_a_client_error_status_is_not_retried(maaskit_server: MaaSKitServer) -> None:
    with pytest.raises(maaskit.BadRequestError) as caught:
        embed_client(maaskit_server, "status=400").embed(model=EMBEDDING_MODEL, input=["x"])
    assert caught.value.attempts == 1


@pytest.mark.parametrize(
    ("fault", "expected_wait"),
    [
        ("status=429; times=1; retry_after_ms=250", 0.25),
        ("status=503; times=1; retry_after=2", 2.0),
    ],
)
def test_retry_after_headers_set_the_sdk_wait(
    maaskit_server: MaaSKitServer, fault: str, expected_wait: float
) -> None:
    waits: list[float] = []
    sdk = maaskit.Client(
        base_url=maaskit_server.openai_url,
        api_key=maaskit_server.api_key,
        default_headers={"X-MaaSKit-Fault": fault},
        sleep=waits.append,
    )
    sdk.embed(model=EMBEDDING_MODEL, input=["wait"])
    assert waits == [expected_wait]


def _protocol_calls() -> list[tuple[str, dict[str, Any]]]:
    text_input = {"name": "text", "shape": [1], "datatype": "BYTES", "data": ["hi"]}
    return [
        ("/v1/embeddings", {"model": EMBEDDING_MODEL, "input": ["hi"]}),
        (f"/v2/models/{EMBEDDING_MODEL}/infer", {"inputs": [text_input]}),
        (f"/models/{EMBEDDING_MODEL}", {"inputs": ["hi"]}),
        ("/api/embed", {"model": EMBEDDING_MODEL, "input": ["hi"]}),
    ]


@pytest.mark.parametrize("index", range(4), ids=["openai", "kserve", "hf", "ollama"])
def test_status_fault_on_each_protocol_route_in_its_error_shape(
    maaskit_server: MaaSKitServer, index: int
) -> None:
    path, body = _protocol_calls()[index]
    url = maaskit_server.url + path
    plain = httpx.post(url, json=body, headers=maaskit_server.headers, timeout=30)
    assert plain.status_code == 200
    headers = {**maaskit_server.headers, "X-MaaSKit-Fault": "status=503; retry_after=1"}
    faulted = httpx.post(url, json=body, headers=headers, timeout=30)
    assert faulted.status_code == 503
    assert faulted.headers["retry-after"] == "1"
    error = faulted.json()["error"]
    message = error["message"] if isinstance(error, dict) else error
    assert message == "Injected fault: status 503."


def test_reset_before_headers_loses_the_answer_and_the_retry_replays_it(
    maaskit_server: MaaSKitServer,
) -> None:
    before = maaskit_server.idempotency_stats()
    attempts, hook = attempts_recorder()
    sdk = embed_client(maaskit_server, "reset=headers; times=1", on_attempt=hook)
    result = sdk.embed(model=EMBEDDING_MODEL, input=["reset me"])
    after = maaskit_server.idempotency_stats()
    assert len(result.vectors[0]) == 384
    assert attempts == [1, 2]
    # The model ran once: the first attempt's answer was stored before the reset.
    assert after["executed"] - before["executed"] == 1
    assert after["replayed"] - before["replayed"] == 1
    assert after["duplicate_execution"] == before["duplicate_execution"]


def test_reset_before_headers_on_every_attempt_is_a_connection_error(
    maaskit_server: MaaSKitServer,
) -> None:
    with pytest.raises(maaskit.APIConnectionError) as caught:
        embed_client(maaskit_server, "reset=headers").embed(model=EMBEDDING_MODEL, input=["x"])
    assert not isinstance(caught.value, maaskit.APITimeoutError)
    assert caught.value.attempts == 3


def test_latency_past_the_timeout_is_retried_and_replayed_not_rerun(
    maaskit_server: MaaSKitServer,
) -> None:
    before = maaskit_server.idempotency_stats()
    # Enough attempts for a loaded machine: each waits up to 0.5 s, and how many pass before
    # attempt 1's answer is stored depends on the machine's speed (three did not suffice at a
    # load of 12 on 2 cores).
    sdk = embed_client(
        maaskit_server,
        "latency_ms=1500; times=1",
        timeout=maaskit.Timeout(read=0.5),
        max_retries=20,
    )
    result = sdk.embed(model=EMBEDDING_MODEL, input=["slow"])
    after = maaskit_server.idempotency_stats()
    assert len(result.vectors[0]) == 384
    # Later attempts arrived while attempt 1 was still being answered: they waited for it
    # (how many timed out waiting depends on the machine's speed), and one got its replay.
    assert after["executed"] - before["executed"] == 1
    assert after["waited"] - before["waited"] >= 1
    assert after["replayed"] - before["replayed"] >= 1
    assert after["duplicate_execution"] == before["duplicate_execution"]


def test_a_malformed_fault_header_is_a_400_naming_the_problem(
    maaskit_server: MaaSKitServer,
) -> None:
    with pytest.raises(maaskit.BadRequestError) as caught:
        embed_client(maaskit_server, "status=503; sometimes=2").embed(
            model=EMBEDDING_MODEL, input=["x"]
        )
    assert "unknown fault directive 'sometimes'" in str(caught.value.provider_message)
