"""ONE real ``tritonserver`` for this directory, on a repository exported from the default models.

``maaskit models export-triton --backend python`` writes the repository (the encoders and the
decoupled generation model), plus ``sentiment-batching``: the sentiment model again with a
long ``max_queue_delay`` and a preferred batch of 4, so that four concurrent requests form one
batch whatever the machine's speed (the fourth arrival, not a clock, releases it); and the
``--backend ensemble`` export of both encoders as ``{model}-ensemble``, its graph step on the
Python backend (``graph_standin.py``) since the wheel has no onnxruntime backend.

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
# The ensemble export of each encoder, under these names, in the same repository.
ENSEMBLES = {"all-minilm-l6-v2": "all-minilm-l6-v2-ensemble", "sentiment": "sentiment-ensemble"}
STANDIN = Path(__file__).with_name("graph_standin.py")


def _copy(models: Path, source: str, name: str, batching: dict[str, object] | None) -> None:
    """The default model ``source`` linked file by file as ``name``, batching replaced."""
    target = models / name
    target.mkdir()
    for item in (MODELS_DIR / source).iterdir():
        if item.name != "maaskit.json":
            (target / item.name).symlink_to(item.resolve())
    options = json.loads((MODELS_DIR / source / "maaskit.json").read_text(encoding="utf-8"))
    if batching is not None:
        options["batching"] = batching
    (target / "maaskit.json").write_text(json.dumps(options), encoding="utf-8")


def _onnxruntime_standin(step: Path) -> None:
    """The ensemble's ``_onnx`` step on the Python backend (the wheel has no onnxruntime one)."""
    config = (step / "config.pbtxt").read_text(encoding="utf-8")
    original = 'platform: "onnxruntime_onnx"\nbackend: "onnxruntime"\n'
    assert original in config
    (step / "config.pbtxt").write_text(config.replace(original, 'backend: "python"\n'), "utf-8")
    (step / "1" / "model.py").write_text(STANDIN.read_text(encoding="utf-8"), "utf-8")


@pytest.fixture(scope="session")
def triton_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models = tmp_path_factory.mktemp("triton-models")
    for name in ("all-minilm-l6-v2", "sentiment", "tiny-shakespeare"):
        if not (MODELS_DIR / name / "model.onnx").is_file():
            pytest.fail(f"the default model {name} is missing (maaskit models build)")
        (models / name).symlink_to(MODELS_DIR / name, target_is_directory=True)
    _copy(
        models,
        "sentiment",
        BATCHING_MODEL,
        {"max_batch_size": 64, "max_queue_delay_ms": 60_000, "preferred_batch_size": [BATCH]},
    )
    out = tmp_path_factory.mktemp("triton-repository")
    result = CliRunner().invoke(
        main, ["models", "export-triton", str(out), "--models", str(models), "--backend", "python"]
    )
    assert result.exit_code == 0, result.output
    assert "exported tiny-shakespeare (text-generation)" in result.output

    ensembles = tmp_path_factory.mktemp("triton-ensemble-models")
    for source, name in ENSEMBLES.items():
        _copy(ensembles, source, name, None)
    command = ["models", "export-triton", str(out), "--models", str(ensembles)]
    result = CliRunner().invoke(main, [*command, "--backend", "ensemble"])
    assert result.exit_code == 0, result.output
    for name in ENSEMBLES.values():
        _onnxruntime_standin(out / f"{name}_onnx")
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
