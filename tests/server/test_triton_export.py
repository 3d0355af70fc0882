"""``maaskit models export-triton``: the repository Triton would load, checked with Triton's own
``ModelConfig`` protobuf (from tritonclient) and by running the copied graph as configured."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from click.testing import CliRunner
from google.protobuf import text_format
from maaskit_server.cli import main
from maaskit_server.triton_export import ExportError, export_repository
from tritonclient.grpc import model_config_pb2

MODELS = Path(__file__).resolve().parents[2] / "reference_server" / "maaskit_server" / "models"
EMBEDDING = MODELS / "all-minilm-l6-v2"
SENTIMENT = MODELS / "sentiment"
GENERATION = MODELS / "tiny-shakespeare"
TOKEN_INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def need(folder: Path) -> None:
    if not (folder / "model.onnx").is_file():
        pytest.fail(f"the default model {folder.name} is missing")


def one_model_repository(tmp_path: Path, folder: Path, options: dict[str, object]) -> Path:
    """A models dir holding ``folder`` (linked) with ``maaskit.json`` replaced by ``options``."""
    root = tmp_path / "models"
    target = root / folder.name
    target.mkdir(parents=True)
    for item in folder.iterdir():
        if item.name != "maaskit.json":
            (target / item.name).symlink_to(item.resolve())
    (target / "maaskit.json").write_text(json.dumps(options), encoding="utf-8")
    return root


def linked_repository(folder: Path, tmp_path: Path) -> Path:
    root = tmp_path / "models"
    root.mkdir()
    (root / folder.name).symlink_to(folder.resolve(), target_is_directory=True)
    return root


def parse(path: Path) -> model_config_pb2.ModelConfig:
    config = model_config_pb2.ModelConfig()
    text_format.Parse(path.read_text(encoding="utf-8"), config)
    return config


def datatype(value: int) -> str:
    return str(model_config_pb2.DataType.Name(value))


def run_as_configured(model: Path, config: model_config_pb2.ModelConfig) -> dict[str, object]:
    """Feed the copied graph exactly the tensors the config declares (batch 2, 5 tokens)."""
    session = onnxruntime.InferenceSession(
        str(model / "1" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    feeds = {
        tensor.name: np.ones((2, *[5 if d == -1 else d for d in tensor.dims]), dtype=np.int64)
        for tensor in config.input
    }
    names = [tensor.name for tensor in config.output]
    return dict(zip(names, session.run(names, feeds), strict=True))


def test_embedding_model_exports_a_loadable_triton_config(tmp_path: Path) -> None:
    need(EMBEDDING)
    models = one_model_repository(
        tmp_path,
        EMBEDDING,
        {"task": "embeddings", "batching": {"max_batch_size": 24, "max_queue_delay_ms": 3.5}},
    )
    (exported,) = export_repository(models, tmp_path / "triton", backend="onnxruntime")
    folder = tmp_path / "triton" / EMBEDDING.name
    assert exported.path == folder
    config = parse(folder / "config.pbtxt")
    assert config.name == EMBEDDING.name
    assert config.platform == "onnxruntime_onnx"
    assert config.max_batch_size == 24
    # With max_batch_size > 0 Triton's dims omit the batch: [-1] is the graph's [batch, tokens].
    assert [(t.name, datatype(t.data_type), list(t.dims)) for t in config.input] == [
        (name, "TYPE_INT64", [-1]) for name in TOKEN_INPUTS
    ]
    assert [(t.name, datatype(t.data_type), list(t.dims)) for t in config.output] == [
        ("last_hidden_state", "TYPE_FP32", [-1, 384])
    ]
    assert config.dynamic_batching.max_queue_delay_microseconds == 3500
    assert list(config.dynamic_batching.preferred_batch_size) == [8, 24]
    assert config.parameters["maaskit_task"].string_value == "embeddings"
    assert (folder / "1" / "model.onnx").read_bytes() == (EMBEDDING / "model.onnx").read_bytes()
    assert (folder / "tokenizer.json").read_bytes() == (EMBEDDING / "tokenizer.json").read_bytes()
    outputs = run_as_configured(folder, config)
    hidden = outputs["last_hidden_state"]
    assert isinstance(hidden, np.ndarray)
    assert hidden.shape == (2, 5, 384)


def test_classification_model_names_logits_and_labels(tmp_path: Path) -> None:
    need(SENTIMENT)
    export_repository(
        linked_repository(SENTIMENT, tmp_path), tmp_path / "triton", backend="onnxruntime"
    )
    folder = tmp_path / "triton" / SENTIMENT.name
    config = parse(folder / "config.pbtxt")
    inputs = {t.name: (datatype(t.data_type), list(t.dims)) for t in config.input}
    assert "input_ids" in inputs
    assert set(inputs) <= set(TOKEN_INPUTS)
    assert all(described == ("TYPE_INT64", [-1]) for described in inputs.values())
    (logits,) = config.output
    assert (logits.name, datatype(logits.data_type)) == ("logits", "TYPE_FP32")
    labels = (folder / logits.label_filename).read_text(encoding="utf-8").split()
    assert labels == ["negative", "neutral", "positive"]
    assert list(logits.dims) == [len(labels)]
    batching = json.loads((SENTIMENT / "maaskit.json").read_text())["batching"]
    assert config.max_batch_size == batching["max_batch_size"]
    delay_us = config.dynamic_batching.max_queue_delay_microseconds
    assert delay_us == round(batching["max_queue_delay_ms"] * 1000)


def test_generation_model_keeps_its_kv_cache_tensors_unbatched(tmp_path: Path) -> None:
    need(GENERATION)
    export_repository(
        linked_repository(GENERATION, tmp_path), tmp_path / "triton", backend="onnxruntime"
    )
    config = parse(tmp_path / "triton" / GENERATION.name / "config.pbtxt")
    inputs = {t.name: (datatype(t.data_type), list(t.dims)) for t in config.input}
    outputs = {t.name: datatype(t.data_type) for t in config.output}
    assert config.max_batch_size == 0
    assert not config.HasField("dynamic_batching")
    assert inputs["input_ids"] == ("TYPE_INT64", [-1, -1])
    assert any(name.startswith("past_key_values.") for name in inputs)
    assert outputs["logits"] == "TYPE_FP32"
    assert any(name.startswith("present.") for name in outputs)


def test_cli_exports_and_reports(tmp_path: Path) -> None:
    need(EMBEDDING)
    models = tmp_path / "models"
    models.mkdir()
    (models / EMBEDDING.name).symlink_to(EMBEDDING.resolve(), target_is_directory=True)
    out = tmp_path / "triton"
    result = CliRunner().invoke(
        main,
        ["models", "export-triton", str(out), "--models", str(models), "--backend", "onnxruntime"],
    )
    assert result.exit_code == 0, result.output
    assert f"exported {EMBEDDING.name} (embeddings)" in result.output
    assert "tokenize in the client" in result.output
    assert parse(out / EMBEDDING.name / "config.pbtxt").name == EMBEDDING.name


def test_cli_refuses_an_empty_or_broken_repository(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(
        main, ["models", "export-triton", str(tmp_path / "o"), "--models", str(empty)]
    )
    assert result.exit_code != 0
    assert "no model folders" in result.output
    broken = tmp_path / "broken" / "half"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ExportError, match=r"half: missing model\.onnx"):
        export_repository(broken.parent, tmp_path / "o")
