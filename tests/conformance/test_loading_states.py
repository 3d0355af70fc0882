"""While a model loads, each protocol says so in its own way (in-process, with a load gate
holding the background loading): KServe's ready routes answer 503, the Hugging Face endpoint
answers 503 with the Inference API's ``estimated_time`` (which the SDK's ``hf`` provider waits
for), Ollama's list is empty and its routes answer ``{"error"}``."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support.server import MODELS_DIR, default_models_present
from maaskit_server.app import create_app
from maaskit_server.settings import ServerSettings
from starlette.testclient import TestClient

MODEL = "all-minilm-l6-v2"

pytestmark = pytest.mark.skipif(
    not default_models_present(MODEL), reason="the default models are not built yet"
)


@pytest.fixture(scope="module")
def gated() -> Iterator[tuple[TestClient, threading.Event]]:
    with tempfile.TemporaryDirectory(prefix="maaskit-repo-") as folder:
        root = Path(folder)
        (root / MODEL).symlink_to(MODELS_DIR / MODEL, target_is_directory=True)
        gate = threading.Event()
        settings = ServerSettings(models_dir=root, intra_op_threads=1, max_queue_size=100)
        with TestClient(create_app(settings, load_gate=gate)) as client:
            yield client, gate
        gate.set()


def test_loading_then_ready(gated: tuple[TestClient, threading.Event]) -> None:
    client, gate = gated
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").status_code == 503
    loading = client.get(f"/v2/models/{MODEL}/ready")
    assert loading.status_code == 503
    assert loading.json() == {"name": MODEL, "ready": False}
    infer = client.post(
        f"/v2/models/{MODEL}/infer",
        json={"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["x"]}]},
    )
    assert infer.status_code == 503
    assert list(infer.json()) == ["error"]
    index = client.post("/v2/repository/index", json={}).json()
    assert index == [{"name": MODEL, "version": "1", "state": "LOADING"}]
    hf = client.post(f"/models/{MODEL}", json={"inputs": "x"})
    assert hf.status_code == 503
    assert hf.json()["estimated_time"] == 1.0
    assert set(hf.json()) == {"error", "error_type", "estimated_time"}
    assert client.get("/api/tags").json() == {"models": []}
    ollama = client.post("/api/embed", json={"model": MODEL, "input": "x"})
    assert ollama.status_code == 503
    assert list(ollama.json()) == ["error"]

    gate.set()
    deadline = time.monotonic() + 120
    while client.get("/v2/health/ready").status_code != 200:
        assert time.monotonic() < deadline, "not ready in 120 s"
        time.sleep(0.05)
    assert client.get(f"/v2/models/{MODEL}/ready").json() == {"name": MODEL, "ready": True}
    assert client.post(f"/models/{MODEL}", json={"inputs": "x"}).status_code == 200
    assert client.post("/api/embed", json={"model": MODEL, "input": "x"}).status_code == 200
