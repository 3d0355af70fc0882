"""Real ``python -m maaskit_server`` processes for e2e tests, started by the plugin's
``maaskit.testing.start_server``.

``ServerProcess`` is what the session's ``reference_server`` fixture (tests/conftest.py) yields:
the base URL, the one API key the server accepts, the process and its log, and what ``/health``
and ``/ready`` answered while it was starting.
"""

from __future__ import annotations

import itertools
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from maaskit.testing import free_port
from maaskit.testing import start_server as plugin_start_server
from maaskit_server.audit import WORKER_HEADER

REPO = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO / "reference_server" / "maaskit_server" / "models"
READY_TIMEOUT_S = 240.0
# The test-only variable that holds each model's loading back (settings.load_delay_from_env).
LOAD_DELAY_ENV = "MAASKIT_TEST_LOAD_DELAY_S"

__all__ = [
    "MODELS_DIR",
    "ServerProcess",
    "default_models_present",
    "free_port",
    "start_server",
    "stop_server",
]


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


def start_server(
    log_path: Path,
    *,
    api_key: str,
    load_delay_s: float = 0.0,
    extra_args: Sequence[str] = (),
    port: int | None = None,
    models_dir: Path | None = None,
    ready_timeout_s: float = READY_TIMEOUT_S,
) -> ServerProcess:
    """A server without fault injection, accepting ``api_key``, ready when this returns.

    ``port``: a given one, to restart a stopped server where its clients expect it.
    """
    # Imported here: pytest loads key_scan as a plugin (conftest.py) and rewrites it then.
    from _support.key_scan import register_key, register_log

    register_key(api_key)
    for flag, value in itertools.pairwise(extra_args):
        if flag in ("--api-key", "--fault-admin-key"):
            register_key(value)
    register_log(log_path)
    observations: list[tuple[int, int]] = []
    server = plugin_start_server(
        log_path,
        models_dir=models_dir,
        extra_args=extra_args,
        ready_timeout_s=ready_timeout_s,
        env={LOAD_DELAY_ENV: str(load_delay_s)},
        api_key=api_key,
        port=port,
        enable_faults=False,
        on_probe=lambda health, ready: observations.append((health, ready)),
    )
    return ServerProcess(server.url, api_key, server.process, log_path, observations)


def stop_server(server: ServerProcess) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=15)


_MAX_PROBES = 20_000
_PAUSE_S = 0.05


def wait_until_workers_are_ready(server: ServerProcess, workers: int) -> None:
    """start_server saw one worker ready; with ``--workers N`` the others may still be loading
    and would answer 503 (CI saw it at load ~8). Test servers (``--enable-faults``) name the
    answering worker in ``x-maaskit-worker``; fresh connections from a few threads reach every
    worker (the kernel spreads accepts), so go on, by count, until each has answered 200.

    Every probe that finds no new worker is followed by a short pause: a worker that is ready
    answers at once, and without the pause its answers would use up the count within seconds
    on a fast machine while a replaced worker is still loading (a SIGKILL test saw that). With
    it the count stands for at least ``_MAX_PROBES * _PAUSE_S / threads`` seconds, longer on
    a slow machine, never shorter."""
    ready: set[str] = set()
    asked = 0
    lock = threading.Lock()

    def ask() -> None:
        nonlocal asked
        limits = httpx.Limits(max_keepalive_connections=0)  # a new connection per probe
        with httpx.Client(
            base_url=server.base_url, headers=server.headers, limits=limits, timeout=60
        ) as client:
            while True:
                with lock:
                    if len(ready) == workers or asked >= _MAX_PROBES:
                        return
                    asked += 1
                response = client.get("/ready")
                found_new = False
                if response.status_code == 200:
                    with lock:
                        worker = response.headers[WORKER_HEADER]
                        found_new = worker not in ready
                        ready.add(worker)
                if not found_new:
                    time.sleep(_PAUSE_S)  # pacing between probes, not a timing bet

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ready) == workers, f"only workers {sorted(ready)} were ready after {asked} probes"


def default_models_present(*names: str) -> bool:
    return all((MODELS_DIR / name / "model.onnx").is_file() for name in names)
