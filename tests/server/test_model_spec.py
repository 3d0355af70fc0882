from __future__ import annotations

import json
from pathlib import Path

import pytest
from maaskit_server.model_spec import ModelSpecError, read_model_spec


def make_folder(tmp_path: Path, config: dict[str, object], **files: object) -> Path:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"")
    (folder / "tokenizer.json").write_text("{}")
    (folder / "config.json").write_text(json.dumps(config))
    for name, content in files.items():
        path = folder / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))
    return folder


def test_classification_inferred_with_labels_in_id_order(tmp_path: Path) -> None:
    config = {
        "architectures": ["BertForSequenceClassification"],
        "id2label": {"2": "positive", "0": "negative", "1": "neutral"},
        "max_position_embeddings": 512,
    }
    spec = read_model_spec(make_folder(tmp_path, config))
    assert spec.task == "classification"
    assert spec.labels == ("negative", "neutral", "positive")
    assert spec.max_input_tokens == 512


def test_embeddings_inferred_from_sentence_transformers_layout(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path,
        {"architectures": ["BertModel"]},
        **{
            "1_Pooling__config.json": {"pooling_mode_cls_token": True},
            "modules.json": [{"type": "sentence_transformers.models.Pooling"}],
        },
    )
    spec = read_model_spec(folder)
    assert (spec.task, spec.pooling, spec.normalize) == ("embeddings", "cls", False)


def test_maaskit_json_overrides(tmp_path: Path) -> None:
    options = {
        "task": "embeddings",
        "max_input_tokens": 256,
        "pooling": "max",
        "normalize": False,
        "batching": {"max_batch_size": 64, "max_queue_delay_ms": 5},
        "price_per_million_tokens": 0.5,
    }
    spec = read_model_spec(make_folder(tmp_path, {}, **{"maaskit.json": options}))
    assert spec.max_input_tokens == 256
    assert (spec.pooling, spec.normalize) == ("max", False)
    assert spec.batching.max_batch_size == 64
    assert spec.batching.max_queue_delay_ms == 5
    assert spec.price_per_million_tokens == 0.5


def test_causal_lm_is_text_generation(tmp_path: Path) -> None:
    spec = read_model_spec(make_folder(tmp_path, {"architectures": ["GPT2LMHeadModel"]}))
    assert spec.task == "text-generation"


@pytest.mark.parametrize(
    ("config", "options", "reason"),
    [
        ({}, None, "cannot infer the task"),
        ({}, {"task": "translation"}, "unknown task"),
        ({}, {"task": "embeddings", "pooling": "median"}, "unknown pooling"),
        ({}, {"task": "embeddings", "max_input_tokens": 0}, "max_input_tokens"),
    ],
)
def test_bad_folders_have_a_reason(
    tmp_path: Path, config: dict[str, object], options: dict[str, object] | None, reason: str
) -> None:
    files = {"maaskit.json": options} if options is not None else {}
    with pytest.raises(ModelSpecError, match=reason):
        read_model_spec(make_folder(tmp_path, config, **files))


def test_missing_onnx_is_named(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, {"architectures": ["BertModel"]})
    (folder / "model.onnx").unlink()
    with pytest.raises(ModelSpecError, match=r"missing model\.onnx"):
        read_model_spec(folder)


def test_a_token_budget_is_read_from_maaskit_json(tmp_path: Path) -> None:
    options = {"task": "embeddings", "batching": {"max_batch_tokens": 4096}}
    spec = read_model_spec(make_folder(tmp_path, {}, **{"maaskit.json": options}))
    assert spec.batching.max_batch_tokens == 4096


def test_without_a_token_budget_batches_count_inputs_only(tmp_path: Path) -> None:
    options = {"task": "embeddings", "batching": {"max_batch_size": 8}}
    spec = read_model_spec(make_folder(tmp_path, {}, **{"maaskit.json": options}))
    assert spec.batching.max_batch_tokens is None


@pytest.mark.parametrize("budget", [0, -5, "4096", 2.5, True])
def test_a_bad_token_budget_is_named(tmp_path: Path, budget: object) -> None:
    options = {"task": "embeddings", "batching": {"max_batch_tokens": budget}}
    with pytest.raises(ModelSpecError, match="max_batch_tokens"):
        read_model_spec(make_folder(tmp_path, {}, **{"maaskit.json": options}))
