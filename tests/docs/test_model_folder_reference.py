"""docs/model-folder.md documents exactly the maaskit.json fields the server reads."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from maaskit_server.model_spec import (
    BATCHING_FIELDS,
    FIELDS,
    TRITON_FIELDS,
    read_model_spec,
    unknown_fields,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "model-folder.md"
MODELS = ROOT / "reference_server" / "maaskit_server" / "models"


def documented(heading: str) -> list[str]:
    """The first column of the table under ``### heading``."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"### {heading}\n", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)


def test_the_reference_lists_every_field_the_server_reads() -> None:
    assert documented("Top-level fields") == list(FIELDS)
    assert documented("`batching`") == list(BATCHING_FIELDS)
    assert documented("`triton`") == list(TRITON_FIELDS)


def test_the_shipped_models_use_only_documented_fields() -> None:
    folders = sorted(path.parent for path in MODELS.glob("*/maaskit.json"))
    assert folders
    for folder in folders:
        options = json.loads((folder / "maaskit.json").read_text(encoding="utf-8"))
        assert unknown_fields(options) == [], folder.name


def test_a_misspelt_field_is_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "typo"
    folder.mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        (folder / name).write_bytes(b"")
    options = {"task": "embeddings", "max_input_token": 8, "batching": {"max_batch": 2}}
    (folder / "maaskit.json").write_text(json.dumps(options))
    with caplog.at_level(logging.WARNING, logger="maaskit_server.model_spec"):
        spec = read_model_spec(folder)
    assert spec.task == "embeddings"
    assert "max_input_token, batching.max_batch" in caplog.text
