"""``export-triton --backend python``: the repository's files and configs, read with Triton's own
``ModelConfig`` protobuf (from tritonclient); no server needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from google.protobuf import text_format
from maaskit_server.cli import main
from maaskit_server.triton_export import ExportError, export_repository
from tritonclient.grpc import model_config_pb2

from .conftest import MODELS_DIR

TEMPLATE = (
    Path(__file__).resolve().parents[2]
    / "reference_server"
    / "maaskit_server"
    / "triton_export"
    / "_templates"
    / "encoder.py"
)


def parse(path: Path) -> model_config_pb2.ModelConfig:
    config = model_config_pb2.ModelConfig()
    text_format.Parse(path.read_text(encoding="utf-8"), config)
    return config


def one_model(tmp_path: Path, name: str, changes: dict[str, object]) -> Path:
    """A models dir with the default model ``name`` linked, its maaskit.json updated."""
    source = MODELS_DIR / name
    target = tmp_path / "models" / name
    target.mkdir(parents=True)
    for item in source.iterdir():
        if item.name != "maaskit.json":
            (target / item.name).symlink_to(item.resolve())
    options = json.loads((source / "maaskit.json").read_text(encoding="utf-8"))
    (target / "maaskit.json").write_text(json.dumps({**options, **changes}), encoding="utf-8")
    return target.parent


def tensors(entries: object) -> dict[str, tuple[str, list[int]]]:
    return {
        t.name: (model_config_pb2.DataType.Name(t.data_type), list(t.dims))
        for t in entries  # type: ignore[attr-defined]
    }


def parameters(config: model_config_pb2.ModelConfig) -> dict[str, str]:
    return {key: value.string_value for key, value in config.parameters.items()}


def test_classification_exports_a_python_model_taking_text(tmp_path: Path) -> None:
    models = one_model(
        tmp_path,
        "sentiment",
        {
            "batching": {"max_batch_size": 16, "max_queue_delay_ms": 2.5},
            "triton": {"instance_count": 2},
        },
    )

    (exported,) = export_repository(models, tmp_path / "out", backend="python")

    config = parse(exported.path / "config.pbtxt")
    assert config.name == "sentiment"
    assert config.backend == "python"
    assert config.max_batch_size == 16
    assert config.dynamic_batching.max_queue_delay_microseconds == 2500
    assert list(config.dynamic_batching.preferred_batch_size) == [8, 16]
    assert [(g.count, g.kind) for g in config.instance_group] == [
        (2, model_config_pb2.ModelInstanceGroup.KIND_CPU)
    ]
    assert tensors(config.input) == {"text": ("TYPE_STRING", [1])}
    assert tensors(config.output) == {
        "probabilities": ("TYPE_FP32", [3]),
        "label": ("TYPE_STRING", [1]),
        "labels": ("TYPE_STRING", [3]),
    }
    settings = parameters(config)
    assert settings["maaskit_task"] == "classification"
    assert json.loads(settings["maaskit_labels"]) == ["negative", "neutral", "positive"]
    assert settings["maaskit_max_input_tokens"] == "256"
    version = exported.path / "1"
    assert (version / "model.py").read_text(encoding="utf-8") == TEMPLATE.read_text("utf-8")
    for name in ("model.onnx", "tokenizer.json", "config.json", "maaskit.json"):
        assert (version / name).is_file()
        assert not (version / name).is_symlink()
    assert (version / "model.onnx").read_bytes() == (
        MODELS_DIR / "sentiment" / "model.onnx"
    ).read_bytes()


def test_embeddings_export_their_dimensions_and_pooling(tmp_path: Path) -> None:
    models = one_model(tmp_path, "all-minilm-l6-v2", {"pooling": "cls", "normalize": False})

    (exported,) = export_repository(models, tmp_path / "out")

    config = parse(exported.path / "config.pbtxt")
    assert tensors(config.output) == {"embedding": ("TYPE_FP32", [384])}
    assert config.max_batch_size == 64
    assert config.dynamic_batching.max_queue_delay_microseconds == 0
    assert [g.count for g in config.instance_group] == [1]
    settings = parameters(config)
    assert (settings["maaskit_pooling"], settings["maaskit_normalize"]) == ("cls", "false")


def test_generation_exports_a_decoupled_model(tmp_path: Path) -> None:
    models = one_model(tmp_path, "tiny-shakespeare", {})

    (exported,) = export_repository(models, tmp_path / "out", backend="python")

    config = parse(exported.path / "config.pbtxt")
    assert config.model_transaction_policy.decoupled
    assert config.max_batch_size == 0
    assert tensors(config.input) == {"text_input": ("TYPE_STRING", [1])}
    assert tensors(config.output) == {"text_output": ("TYPE_STRING", [1])}
    settings = parameters(config)
    assert settings["maaskit_max_context_tokens"] == "256"
    assert json.loads(settings["maaskit_eos_token_ids"]) == [0]
    generation = TEMPLATE.with_name("generation.py").read_bytes()
    assert (exported.path / "1" / "model.py").read_bytes() == generation
    assert (exported.path / "1" / "generation_config.json").is_file()


def test_the_ensemble_export_skips_generation_with_the_reason(tmp_path: Path) -> None:
    models = one_model(tmp_path, "tiny-shakespeare", {})

    (skipped,) = export_repository(models, tmp_path / "out", backend="ensemble")
    command = ["models", "export-triton", str(tmp_path / "cli"), "--models", str(models)]
    result = CliRunner().invoke(main, [*command, "--backend", "ensemble"])

    assert skipped.skipped is not None
    assert "--backend python (a decoupled model)" in skipped.skipped
    assert not (tmp_path / "out" / "tiny-shakespeare").exists()
    assert result.exit_code == 0, result.output
    assert "skipped tiny-shakespeare (text-generation): text generation is not" in result.output


@pytest.mark.parametrize("backend", ["python", "ensemble"])
def test_token_classification_is_skipped_with_the_reason(tmp_path: Path, backend: str) -> None:
    # The default pii-ner model: text in, entities out needs the server's aggregation.
    models = one_model(tmp_path, "pii-ner", {})

    (skipped,) = export_repository(models, tmp_path / "out", backend=backend)
    (raw,) = export_repository(models, tmp_path / "raw", backend="onnxruntime")

    assert skipped.skipped is not None
    assert "--backend onnxruntime" in skipped.skipped
    assert not (tmp_path / "out" / "pii-ner").exists()
    assert raw.skipped is None
    assert (tmp_path / "raw" / "pii-ner" / "config.pbtxt").is_file()


def test_the_ensemble_export_chains_tokenize_graph_and_postprocess(tmp_path: Path) -> None:
    models = one_model(tmp_path, "sentiment", {})
    out = tmp_path / "out"

    (exported,) = export_repository(models, out, backend="ensemble")

    ensemble = parse(exported.path / "config.pbtxt")
    assert ensemble.platform == "ensemble"
    assert tensors(ensemble.input) == {"text": ("TYPE_STRING", [1])}
    assert set(tensors(ensemble.output)) == {"probabilities", "label", "labels"}
    steps = [
        (step.model_name, dict(step.input_map), dict(step.output_map))
        for step in ensemble.ensemble_scheduling.step
    ]
    token_maps = {name: name for name in ("input_ids", "attention_mask", "token_type_ids")}
    assert steps == [
        ("sentiment_tokenize", {"text": "text"}, token_maps),
        ("sentiment_onnx", token_maps, {"logits": "logits"}),
        (
            "sentiment_postprocess",
            {"logits": "logits", "attention_mask": "attention_mask"},
            {name: name for name in ("probabilities", "label", "labels")},
        ),
    ]
    graph = parse(out / "sentiment_onnx" / "config.pbtxt")
    assert graph.platform == "onnxruntime_onnx"
    assert tensors(graph.input) == {name: ("TYPE_INT64", [-1]) for name in token_maps}
    tokenize = parse(out / "sentiment_tokenize" / "config.pbtxt")
    assert tokenize.backend == "python"
    assert tensors(tokenize.output) == tensors(graph.input)
    assert parameters(tokenize)["maaskit_stage"] == "tokenize"
    postprocess = parse(out / "sentiment_postprocess" / "config.pbtxt")
    assert tensors(postprocess.input) == {
        "logits": ("TYPE_FP32", [3]),
        "attention_mask": ("TYPE_INT64", [-1]),
    }
    assert parameters(postprocess)["maaskit_stage"] == "postprocess"
    assert parameters(postprocess)["maaskit_graph_output"] == "logits"
    for step in ("sentiment_tokenize", "sentiment_postprocess"):
        assert (out / step / "1" / "model.py").read_bytes() == TEMPLATE.read_bytes()
    assert (out / "sentiment_tokenize" / "1" / "tokenizer.json").is_file()
    assert (out / "sentiment_onnx" / "1" / "model.onnx").is_file()
    for config in (ensemble, graph, tokenize, postprocess):
        assert config.max_batch_size == 64


@pytest.mark.parametrize(
    ("triton", "message"),
    [
        ({"instance_count": 0}, "instance_count must be >= 1"),
        ({"instance_kind": "KIND_TPU"}, "instance_kind must be one of"),
        ("two", "'triton' must be an object"),
        ({"intra_op_threads": -1}, "intra_op_threads must be an integer >= 0"),
    ],
)
def test_bad_triton_options_are_named(tmp_path: Path, triton: object, message: str) -> None:
    models = one_model(tmp_path, "sentiment", {"triton": triton})

    with pytest.raises(ExportError, match=message):
        export_repository(models, tmp_path / "out")


def test_an_unknown_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown backend 'tensorrt'"):
        export_repository(MODELS_DIR, tmp_path / "out", backend="tensorrt")
    result = CliRunner().invoke(main, ["models", "export-triton", str(tmp_path), "--backend", "x"])
    assert result.exit_code != 0
    assert "'x' is not one of" in result.output
