"""The ``maaskit`` command's argument handling (serving itself is covered end to end)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from maaskit_server.cli import main


def test_models_list_reports_folders_that_cannot_serve(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    odd = tmp_path / "odd"
    odd.mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        (odd / name).write_bytes(b"")
    (odd / "maaskit.json").write_text(json.dumps({"task": "embeddings"}))
    result = CliRunner().invoke(main, ["models", "list", "--models", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "2 model(s) cannot serve: broken, odd" in result.output
    assert "Traceback" not in result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:-1]}
    assert "failed" in lines["broken"]
    assert "missing model.onnx" in lines["broken"]
    assert "failed" in lines["odd"]
    assert "reason:" in lines["odd"]


def test_models_build_rejects_unknown_names() -> None:
    result = CliRunner().invoke(main, ["models", "build", "no-such-model"])
    assert result.exit_code == 2
    assert "known: all-minilm-l6-v2" in result.output


@pytest.mark.skipif(
    # onnx is a dev dependency (tests/evaluation); the build needs torch and optimum first.
    any(importlib.util.find_spec(name) for name in ("torch", "optimum")),
    reason="the export extra is installed, so building would really run",
)
def test_models_build_without_the_export_extra_says_what_to_install(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["models", "build", "all-minilm-l6-v2", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert 'pip install "maaskit[export]"' in result.output


def test_serve_rejects_a_keys_file_of_plain_keys(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("sk-plain-key-not-a-digest\n")
    result = CliRunner().invoke(main, ["serve", "--api-keys-file", str(keys), "--port", "1"])
    assert result.exit_code == 2
    assert "not a SHA-256 hex digest" in result.output
    assert "sk-plain-key" not in result.output
