"""A real ``python -m maaskit_server`` process serving only generation models, for e2e tests.

Generation gets its own process (not the session-wide one) so that gauges such as the running
sequences belong to these tests alone, and so that a deliberately narrow copy of the model
(one running sequence, one waiting) can show the 429 path. Both folders point at the same
committed model files through symlinks.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from conftest import ServerProcess, free_port, stop_server

REPO = Path(__file__).resolve().parents[2]
COMMITTED_LM = REPO / "reference_server" / "maaskit_server" / "models" / "tiny-shakespeare"
MODEL = "tiny-shakespeare"
NARROW_MODEL = "tiny-shakespeare-narrow"
READY_TIMEOUT_S = 120.0
_LINKED_FILES = (
    "model.onnx",
    "tokenizer.json",
    "config.json",
    "generation_config.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


def lm_folder() -> Path | None:
    """The committed model, or ``MAASKIT_TEST_LM_DIR`` (another export) when set."""
    override = os.environ.get("MAASKIT_TEST_LM_DIR")
    folder = Path(override) if override else COMMITTED_LM
    return folder if (folder / "model.onnx").is_file() else None


def build_models_dir(source: Path, root: Path) -> Path:
    models = root / "models"
    models.mkdir()
    (models / MODEL).symlink_to(source.resolve(), target_is_directory=True)
    narrow = models / NARROW_MODEL
    narrow.mkdir()
    for name in _LINKED_FILES:
        if (source / name).exists():
            (narrow / name).symlink_to((source / name).resolve())
    options = json.loads((source / "maaskit.json").read_text(encoding="utf-8"))
    options["batching"] = {"max_running_sequences": 1, "max_waiting": 1}
    # Slow enough that a stream is still running when a test acts on it.
    options["step_delay_ms"] = 25
    (narrow / "maaskit.json").write_text(json.dumps(options), encoding="utf-8")
    return models


@contextmanager
def generation_server(source: Path, root: Path) -> Iterator[ServerProcess]:
    models = build_models_dir(source, root)
    api_key = "maaskit-test-" + secrets.token_hex(12)
    port = free_port()
    log_path = root / "server.log"
    command = [
        sys.executable,
        "-m",
        "maaskit_server",
        "--models",
        str(models),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env={**os.environ, "MAASKIT_API_KEYS": api_key},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", api_key, process, log_path)
    try:
        _wait_ready(server)
        yield server
    finally:
        stop_server(server)


def _wait_ready(server: ServerProcess) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(timeout=5.0) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{server.log_text()[-3000:]}")
            try:
                if http.get(f"{server.base_url}/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"server not ready in {READY_TIMEOUT_S} s:\n{server.log_text()[-3000:]}")
