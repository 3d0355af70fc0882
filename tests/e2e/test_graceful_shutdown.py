"""Graceful shutdown when ``--graceful-timeout`` runs out: streams that are still open end with a
final error event in their protocol's shape (not a connection cut mid-body), connections made
after SIGTERM are refused, and the process exits with status 0; with one worker and with two.

The streams are held open by the ``stall`` fault (after one chunk the answer waits for ten
minutes), so they are certain to be open when the timeout runs out, whatever the machine's
speed; the assertions are on the events the clients read, never on durations.
"""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _support.server import (
    MODELS_DIR,
    ServerProcess,
    start_server,
    stop_server,
    wait_until_workers_are_ready,
)

pytestmark = pytest.mark.e2e

KEY = "key-shutdown-0123456789"
LM = "tiny-shakespeare"
HOLD_OPEN = {"X-MaaSKit-Fault": "stall=1"}
PROMPT = [{"role": "user", "content": "Speak"}]
# (path, body, framing): every protocol's streamed generation route.
STREAMS = [
    ("/v1/chat/completions", {"model": LM, "messages": PROMPT, "stream": True}, "sse"),
    ("/v1/completions", {"model": LM, "prompt": "To be", "stream": True}, "sse"),
    ("/api/chat", {"model": LM, "messages": PROMPT, "stream": True}, "ndjson"),
    (f"/v2/models/{LM}/generate_stream", {"text_input": "To be"}, "sse"),
    (f"/models/{LM}/generate_stream", {"inputs": "To be"}, "sse"),
]


def _server(root: Path, workers: int) -> ServerProcess:
    models = root / "models"
    models.mkdir()
    (models / LM).symlink_to(MODELS_DIR / LM, target_is_directory=True)
    args = [
        "--models", str(models), "--workers", str(workers), "--enable-faults",
        "--graceful-timeout", "1", "--intra-op-threads", "1",
    ]  # fmt: skip
    return start_server(root / "server.log", api_key=KEY, extra_args=args)


@pytest.fixture(params=[1, 2], ids=["one-worker", "two-workers"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    process = _server(tmp_path, request.param)
    try:
        wait_until_workers_are_ready(process, request.param)
        yield process
    finally:
        stop_server(process)


def _payload(line: str, framing: str) -> str:
    return line.removeprefix("data: ") if framing == "sse" else line


def test_streams_open_at_the_timeout_end_with_a_final_error_event(server: ServerProcess) -> None:
    headers = {**server.headers, **HOLD_OPEN}
    with contextlib.ExitStack() as stack:
        http = stack.enter_context(httpx.Client(base_url=server.base_url, timeout=120))
        opened = []
        for path, body, framing in STREAMS:
            response = stack.enter_context(http.stream("POST", path, json=body, headers=headers))
            assert response.status_code == 200, path
            lines = (line for line in response.iter_lines() if line)
            first = next(lines)  # the one chunk the stall lets through: the stream is open
            assert "error" not in json.loads(_payload(first, framing)), path
            opened.append((path, framing, lines))

        server.process.send_signal(signal.SIGTERM)
        refused = False
        with httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as probe:
            for _ in range(10_000):
                try:
                    answer = probe.get(f"{server.base_url}/health")
                except httpx.TimeoutException:
                    pytest.fail("a connection made after SIGTERM was left hanging")
                except httpx.TransportError:
                    refused = True
                    break
                assert answer.status_code == 200  # accepted before the listener closed
        assert refused

        for path, framing, lines in opened:
            rest = list(lines)  # read to the end: the server closes every stream itself
            error = json.loads(_payload(rest[0], framing))["error"]
            if path.startswith("/v1/"):
                # OpenAI's shape, then [DONE] as vLLM sends it after an error event.
                assert error["code"] == "shutting_down", path
                assert rest[1:] == ["data: [DONE]"], path
            else:
                assert "shut down" in error, path
                assert rest[1:] == [], path
    assert server.process.wait(timeout=120) == 0
    log = server.log_text()
    assert "timeout graceful shutdown exceeded" not in log  # uvicorn's backstop never ran
    assert "Traceback" not in log
