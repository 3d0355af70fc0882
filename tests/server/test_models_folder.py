"""``maaskit serve --models DIR`` on wrong folders: refused before starting, one model folder
served alone, and a model that failed to load answering why."""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _support.server import MODELS_DIR
from click.testing import CliRunner
from maaskit_server.app import create_app
from maaskit_server.cli import main
from maaskit_server.repository import ModelRepository
from maaskit_server.runtimes import RuntimeContext
from maaskit_server.settings import ServerSettings
from starlette.testclient import TestClient


def serve(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["serve", "--port", "1", *args])
    return result.exit_code, result.output


def test_a_missing_folder_is_refused_before_serving(tmp_path: Path) -> None:
    status, output = serve("--models", str(tmp_path / "nowhere"))
    assert status == 2
    assert "does not exist" in output or "is not a folder" in output
    assert "Traceback" not in output


def test_a_folder_without_models_is_refused_with_what_a_model_folder_holds(
    tmp_path: Path,
) -> None:
    (tmp_path / "notes").mkdir()
    status, output = serve("--models", str(tmp_path))
    assert status == 2
    assert "holds no model folder" in output
    assert "model.onnx, tokenizer.json" in output


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--max-body-bytes", "-1"),
        ("--max-inputs-per-request", "0"),
        ("--max-queue-size", "-5"),
        ("--rate-limit-rpm", "-1"),
        ("--log-level", "loud"),
    ],
)
def test_bad_limits_and_log_levels_are_refused(option: str, value: str) -> None:
    status, output = serve(option, value)
    assert status == 2
    assert option in output


def test_one_model_folder_is_served_as_that_model(tmp_path: Path) -> None:
    repository = ModelRepository(MODELS_DIR / "sentiment", RuntimeContext(ThreadPoolExecutor(1)))
    repository.scan()
    assert [(entry.name, entry.task) for entry in repository.entries()] == [
        ("sentiment", "classification")
    ]
    # A folder of folders is still one model per sub-folder.
    repository = ModelRepository(MODELS_DIR, RuntimeContext(ThreadPoolExecutor(1)))
    repository.scan()
    assert {"all-minilm-l6-v2", "sentiment"} <= {entry.name for entry in repository.entries()}


def test_a_model_that_failed_to_load_answers_503_with_the_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken-minilm"
    shutil.copytree(
        MODELS_DIR / "all-minilm-l6-v2", broken, ignore=shutil.ignore_patterns("*.onnx")
    )
    (broken / "model.onnx").write_bytes(b"not an onnx graph")
    (tmp_path / "unknown-task").mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        (tmp_path / "unknown-task" / name).write_bytes(b"")
    (tmp_path / "unknown-task" / "maaskit.json").write_text(json.dumps({"task": "speech"}))
    settings = ServerSettings(models_dir=tmp_path, intra_op_threads=1)
    with TestClient(create_app(settings)) as client:
        repository = client.app.state.maaskit.repository
        deadline = time.monotonic() + 60
        while not repository.loading_finished.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        answer = client.post("/v1/embeddings", json={"model": "broken-minilm", "input": "x"})
        assert answer.status_code == 503
        message = answer.json()["error"]["message"]
        assert message.startswith("model 'broken-minilm' failed to load: ")
        assert "INVALID_PROTOBUF" in message or "onnx" in message.lower()
        kserve = client.post(
            "/v2/models/broken-minilm/infer",
            json={"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["x"]}]},
        )
        assert kserve.status_code == 503
        assert "failed to load" in kserve.text
        hf = client.post("/models/broken-minilm", json={"inputs": "x"})
        assert hf.status_code == 503
        assert "failed to load" in hf.text
        unknown = client.post("/v1/embeddings", json={"model": "unknown-task", "input": "x"})
        assert unknown.status_code == 503
        assert "'unknown-task' failed to load: unknown task 'speech'" in unknown.text
        missing = client.post("/v1/embeddings", json={"model": "no-such-model", "input": "x"})
        assert missing.status_code == 404
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "no models"
