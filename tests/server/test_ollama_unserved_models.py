"""Ollama's routes on a model that is configured but does not serve: 503 in Ollama's
``{"error": "..."}`` shape, as the OpenAI, HF and KServe routes answer (404 is only for a
model the folder does not hold)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from _support.server import MODELS_DIR
from maaskit_server.app import create_app
from maaskit_server.settings import ServerSettings
from starlette.testclient import TestClient


def broken_copy(source: str, target: Path) -> None:
    """``source``'s folder with a model.onnx that is no ONNX graph: it fails to load."""
    shutil.copytree(MODELS_DIR / source, target, ignore=shutil.ignore_patterns("*.onnx*"))
    (target / "model.onnx").write_bytes(b"not an onnx graph")


def wait_for_loading(client: TestClient) -> None:
    repository = client.app.state.maaskit.repository  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while not repository.loading_finished.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)  # polling a condition with a deadline, not waiting for time to pass
    assert repository.loading_finished.is_set()


def test_every_ollama_model_route_answers_503_with_the_reason_for_a_failed_model(
    tmp_path: Path,
) -> None:
    broken_copy("all-minilm-l6-v2", tmp_path / "broken-embedder")
    broken_copy("tiny-shakespeare", tmp_path / "broken-generator")
    settings = ServerSettings(models_dir=tmp_path, intra_op_threads=1)
    calls: list[tuple[str, str, dict[str, object]]] = [
        ("/api/show", "broken-embedder", {}),
        ("/api/show", "broken-generator:latest", {}),
        ("/api/embed", "broken-embedder", {"input": "x"}),
        ("/api/embeddings", "broken-embedder", {"prompt": "x"}),
        ("/api/generate", "broken-generator", {"prompt": "x", "stream": False}),
        ("/api/chat", "broken-generator", {"messages": [{"role": "user", "content": "x"}]}),
    ]
    with TestClient(create_app(settings)) as client:
        wait_for_loading(client)
        for path, model, body in calls:
            answer = client.post(path, json={"model": model, **body})
            assert answer.status_code == 503, (path, answer.text)
            error = answer.json()
            assert list(error) == ["error"], (path, error)
            name = model.removesuffix(":latest")
            assert error["error"].startswith(f"model {name!r} failed to load: "), (path, error)
        missing = client.post("/api/show", json={"model": "no-such-model"})
        assert missing.status_code == 404
        assert list(missing.json()) == ["error"]


def test_ollama_show_answers_503_for_a_model_still_loading(tmp_path: Path) -> None:
    shutil.copytree(MODELS_DIR / "all-minilm-l6-v2", tmp_path / "all-minilm-l6-v2")
    gate = threading.Event()
    settings = ServerSettings(models_dir=tmp_path, intra_op_threads=1)
    with TestClient(create_app(settings, load_gate=gate)) as client:
        try:
            loading = client.post("/api/show", json={"model": "all-minilm-l6-v2"})
        finally:
            gate.set()  # a failing assertion must not leave the loader waiting on the gate
        assert loading.status_code == 503
        assert loading.headers["retry-after"] == "1"
        message = "model 'all-minilm-l6-v2' is still loading; retry shortly"
        assert loading.json() == {"error": message}
        wait_for_loading(client)
        shown = client.post("/api/show", json={"model": "all-minilm-l6-v2"})
        assert shown.status_code == 200
        assert shown.json()["capabilities"] == ["embedding"]
