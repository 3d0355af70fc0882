"""Session fixtures shared by every test directory.

``reference_server`` starts ONE real ``python -m maaskit_server`` process for the whole session,
on a free loopback port, serving the committed default models with one API key configured.
Model loading is delayed a little through the test-only ``MAASKIT_TEST_LOAD_DELAY_S`` variable
so the fixture can record that ``/ready`` answered 503 (while ``/health`` answered 200) before
it answered 200. Use it as::

    def test_something(reference_server: ServerProcess) -> None:
        httpx.get(f"{reference_server.base_url}/v1/models", headers=reference_server.headers)
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

MODELS_DIR = Path(__file__).resolve().parents[1] / "reference_server" / "maaskit_server" / "models"
READY_TIMEOUT_S = 240.0
LOAD_DELAY_S = 2.0


@dataclass
class ServerProcess:
    base_url: str
    api_key: str = field(repr=False)  # never printed in a failing test's output
    process: subprocess.Popen[bytes]
    log_path: Path
    # (GET /health status, GET /ready status) pairs seen while waiting for readiness.
    startup_observations: list[tuple[int, int]] = field(default_factory=list)

    @property
    def v1(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    log_path: Path,
    *,
    api_key: str,
    load_delay_s: float = 0.0,
    extra_args: Sequence[str] = (),
    port: int | None = None,
) -> ServerProcess:
    """``port``: a given one, to restart a stopped server where its clients expect it."""
    port = free_port() if port is None else port
    env = {
        **os.environ,
        "MAASKIT_API_KEYS": api_key,
        "MAASKIT_TEST_LOAD_DELAY_S": str(load_delay_s),
    }
    command = [sys.executable, "-m", "maaskit_server", "--host", "127.0.0.1", "--port", str(port)]
    log = log_path.open("wb")
    process = subprocess.Popen(
        [*command, "--no-access-log", *extra_args], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    server = ServerProcess(f"http://127.0.0.1:{port}", api_key, process, log_path)
    try:
        _wait_ready(server)
    except BaseException:
        stop_server(server)
        raise
    return server


def _wait_ready(server: ServerProcess) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(timeout=5.0) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{server.log_text()[-3000:]}")
            try:
                health = http.get(f"{server.base_url}/health").status_code
                ready = http.get(f"{server.base_url}/ready").status_code
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            server.startup_observations.append((health, ready))
            if ready == 200:
                return
            time.sleep(0.1)
    raise RuntimeError(f"server not ready in {READY_TIMEOUT_S} s:\n{server.log_text()[-3000:]}")


def stop_server(server: ServerProcess) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=15)


def default_models_present(*names: str) -> bool:
    return all((MODELS_DIR / name / "model.onnx").is_file() for name in names)


@pytest.fixture(scope="session")
def reference_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    if not default_models_present("all-minilm-l6-v2"):
        pytest.fail("the default models are missing (maaskit models build re-creates them)")
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    api_key = "maaskit-test-" + secrets.token_hex(12)
    server = start_server(log_path, api_key=api_key, load_delay_s=LOAD_DELAY_S)
    yield server
    stop_server(server)
