"""Two worker processes: one rate limit and one idempotency store for both (SQLite WAL), and a
graceful shutdown under load that refuses new connections at once and completes every
accepted stream."""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from _support.server import (
    MODELS_DIR,
    ServerProcess,
    start_server,
    stop_server,
    wait_until_workers_are_ready,
)
from maaskit_server.audit import WORKER_HEADER
from maaskit_server.keys import KeyRecord, hash_key, write_keys_file

pytestmark = pytest.mark.e2e

LIMITED_KEY = "key-limited-0123456789"
MAIN_KEY = "key-main-0123456789"
LIMIT = 10
LM, CLASSIFIER = "tiny-shakespeare", "sentiment"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("workers")
    models = root / "models"
    models.mkdir()
    for name in (LM, CLASSIFIER):
        (models / name).symlink_to(MODELS_DIR / name, target_is_directory=True)
    keys = root / "keys.txt"
    limited = KeyRecord(
        hash_key(LIMITED_KEY),
        None,
        key_id="limited",
        routes=frozenset({"inference"}),
        requests_per_minute=LIMIT,
    )
    write_keys_file(keys, [limited])
    args = [
        "--models",
        str(models),
        "--workers",
        "2",
        "--api-keys-file",
        str(keys),
        "--state-dir",
        str(root / "state"),
        "--enable-faults",
        "--graceful-timeout",
        "120",
        "--intra-op-threads",
        "1",
        "--access-log",
        "json",
    ]
    process = start_server(root / "server.log", api_key=MAIN_KEY, extra_args=args)
    try:
        wait_until_workers_are_ready(process, 2)
        yield process
    finally:
        stop_server(process)


def fresh(server: ServerProcess, headers: dict[str, str]) -> httpx.Client:
    # No keep-alive: every request opens a new connection, which either worker may accept.
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.Client(base_url=server.base_url, headers=headers, limits=limits, timeout=60)


def classify(client: httpx.Client, key: str) -> httpx.Response:
    body = {"model": CLASSIFIER, "input": f"request {key}"}
    while True:
        response = client.post("/v1/classify", json=body, headers={"Idempotency-Key": key})
        if response.status_code != 503:  # a worker still loading: not stored, try again
            return response


def test_a_retry_on_any_worker_is_replayed(server: ServerProcess) -> None:
    with fresh(server, server.headers) as client:
        for number in range(16):
            key = f"two-workers-{number}"
            first = classify(client, key)
            again = classify(client, key)
            assert first.status_code == again.status_code == 200
            assert "idempotent-replayed" not in first.headers
            assert again.headers.get("idempotent-replayed") == "true", key
            assert again.json() == first.json()


def test_two_workers_allow_the_limit_not_twice_it(server: ServerProcess) -> None:
    # Every answer names the worker process that gave it (x-maaskit-worker, test servers only).
    # Callers go on until BOTH workers have refused the key: a worker that kept a bucket of its
    # own would still let it through, so this proves one limit holds across the workers.
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    max_attempts = 2000  # a count, not a time: the kernel spreads accepts over both workers

    def both_refused() -> bool:
        return len({worker for status, worker in answers if status == 429}) == 2

    def call() -> None:
        with fresh(server, {"Authorization": f"Bearer {LIMITED_KEY}"}) as client:
            while True:
                with lock:
                    if both_refused() or len(answers) >= max_attempts:
                        return
                response = client.get("/v1/models")
                with lock:
                    answers.append((response.status_code, response.headers[WORKER_HEADER]))

    threads = [threading.Thread(target=call) for _ in range(6)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = [status for status, _ in answers]
    assert both_refused(), f"only one worker ever refused in {len(answers)} calls"
    assert set(statuses) <= {200, 429}
    # The bucket refills at LIMIT a minute, so a slow run earns what its duration allows,
    # never the second bucket that a worker of its own would give.
    earned = math.ceil((time.monotonic() - began) * LIMIT / 60.0)
    assert LIMIT <= statuses.count(200) <= LIMIT + earned


def test_sigterm_under_load_refuses_new_connections_and_completes_every_stream(
    server: ServerProcess,
) -> None:
    streams = 6
    started = threading.Barrier(streams + 1)
    finished: list[str] = []
    lock = threading.Lock()
    # drip_ms makes each stream last seconds whatever the machine's speed.
    chat = {
        "model": LM,
        "messages": [{"role": "user", "content": "Speak"}],
        "max_tokens": 24,
        "temperature": 0,
        "stream": True,
    }
    headers = {**server.headers, "X-MaaSKit-Fault": "drip_ms=250"}

    def stream() -> None:
        outcome = "incomplete"
        try:
            with (
                fresh(server, headers) as client,
                client.stream("POST", "/v1/chat/completions", json=chat) as response,
            ):
                lines = response.iter_lines()
                first = next(lines)
                started.wait()
                rest = [line for line in lines if line]
                if response.status_code == 200 and first and rest[-1:] == ["data: [DONE]"]:
                    outcome = "complete"
                else:  # say what came, so a failure can be read
                    outcome = (
                        f"incomplete: HTTP {response.status_code}, {first[:80]!r}, {rest[-2:]}"
                    )
        except Exception as exc:  # any failure is this stream's outcome
            outcome = f"error {exc!r}"
        finally:
            with lock:
                finished.append(outcome)

    threads = [threading.Thread(target=stream) for _ in range(streams)]
    for thread in threads:
        thread.start()
    started.wait(timeout=120)
    server.process.send_signal(signal.SIGTERM)
    refused_while_streaming = None
    with httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as probe:
        for _ in range(10_000):
            try:
                answer = probe.get(f"{server.base_url}/health")
            except httpx.TimeoutException:
                pytest.fail("a connection made after SIGTERM was left hanging")
            except httpx.TransportError:
                # Refused, or reset from a listen queue that closed: never left hanging.
                with lock:
                    refused_while_streaming = len(finished) < streams
                break
            # Accepted before the listeners closed: answered in full, never left hanging.
            assert answer.status_code == 200
    for thread in threads:
        thread.join(timeout=300)
    assert finished == ["complete"] * streams
    assert refused_while_streaming is True
    assert server.process.wait(timeout=120) == 0


def test_the_logs_name_key_ids_and_never_the_keys(
    server: ServerProcess, reference_server: ServerProcess
) -> None:
    # After the shutdown above, this server's log is complete: access lines, shutdown, errors.
    lines = [line for line in server.log_text().splitlines() if line.startswith("{")]
    access = [json.loads(line) for line in lines]
    assert {"limited"} <= {line["key_id"] for line in access}
    assert any(line["route"] == "/v1/chat/completions" for line in access)
    for text in (server.log_text(), reference_server.log_text()):
        for key in (MAIN_KEY, LIMITED_KEY, reference_server.api_key):
            assert key not in text
