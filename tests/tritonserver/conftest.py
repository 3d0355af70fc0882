"""ONE real ``tritonserver`` for this directory, on a repository exported from the default models.

``maaskit models export-triton --backend python`` writes the repository (the encoders; the
generation model is skipped), plus ``sentiment-batching``: the sentiment model again with a
long ``max_queue_delay`` and a preferred batch of 4, so that four concurrent requests form one
batch whatever the machine's speed (the fourth arrival, not a clock, releases it).

Where Triton cannot run (no ``nvidia-pytriton`` wheel, no stub for this Python, numpy 2 in the
stub's environment), the tests skip with the reason; under CI (``CI`` set) they fail instead,
since ``.ci/run`` installs what they need.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from maaskit.testing import TritonServer, TritonUnavailable, start_triton
from maaskit_server.cli import main

MODELS_DIR = Path(__file__).resolve().parents[2] / "reference_server" / "maaskit_server" / "models"
BATCHING_MODEL = "sentiment-batching"
BATCH = 4


def _batching_copy(models: Path) -> None:
    """``sentiment`` linked file by file, with a ``maaskit.json`` that batches in fours."""
    source = MODELS_DIR / "sentiment"
    target = models / BATCHING_MODEL
    target.mkdir()
    for item in source.iterdir():
        if item.name != "maaskit.json":
            (target / item.name).symlink_to(item.resolve())
    options = json.loads((source / "maaskit.json").read_text(encoding="utf-8"))
    options["batching"] = {
        "max_batch_size": 64,
        "max_queue_delay_ms": 60_000,
        "preferred_batch_size": [BATCH],
    }
    (target / "maaskit.json").write_text(json.dumps(options), encoding="utf-8")


@pytest.fixture(scope="session")
def triton_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = tmp_path_factory.mktemp("triton-models")
    for name in ("all-minilm-l6-v2", "sentiment", "tiny-shakespeare"):
        if not (MODELS_DIR / name / "model.onnx").is_file():
            pytest.fail(f"the default model {name} is missing (maaskit models build)")
        (models / name).symlink_to(MODELS_DIR / name, target_is_directory=True)
    _batching_copy(models)
    out = tmp_path_factory.mktemp("triton-repository")
    result = CliRunner().invoke(
        main, ["models", "export-triton", str(out), "--models", str(models), "--backend", "python"]
    )
    assert result.exit_code == 0, result.output
    assert "skipped tiny-shakespeare (text-generation)" in result.output
    return out


@pytest.fixture(scope="session")
def triton(triton_repository: Path) -> Iterator[TritonServer]:
    log_path = triton_repository.parent / "tritonserver.log"
    try:
        server = start_triton(triton_repository, log_path=log_path)
    except TritonUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Triton cannot run in CI: {exc}")
        pytest.skip(f"Triton cannot run here: {exc}")
    yield server
    server.stop()
