"""Real ``python -m maaskit_server`` processes for e2e tests, started by the plugin's
``maaskit.testing.start_server``.

``ServerProcess`` is what the session's ``reference_server`` fixture (tests/conftest.py) yields:
the base URL, the one API key the server accepts, the process and its log, and what ``/health``
and ``/ready`` answered while it was starting.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from maaskit.testing import free_port
from maaskit.testing import start_server as plugin_start_server

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


def default_models_present(*names: str) -> bool:
    return all((MODELS_DIR / name / "model.onnx").is_file() for name in names)
