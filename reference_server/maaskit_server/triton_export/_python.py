"""The Python-backend export: a Triton model that takes text and answers like the server.

``OUT/{model}/config.pbtxt`` (``backend: "python"``) and ``OUT/{model}/1/`` holding the
model's files (``model.onnx``, ``tokenizer.json``, ``config.json``, ``maaskit.json``…) with
``model.py``, the self-contained template in ``_templates/encoder.py`` (encoders) or
``_templates/generation.py`` (a decoupled model for text generation). The template's settings
(task, limit, pooling, labels) are the config's ``maaskit_*`` parameters, so one file serves
every encoder folder and a user can read what a model does in its ``config.pbtxt``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..model_spec import ModelSpec
from ._config import (
    Exported,
    ExportError,
    TensorSpec,
    dynamic_batching,
    instance_group,
    parameter,
    tensor_line,
)

TEMPLATE = Path(__file__).parent / "_templates" / "encoder.py"
GENERATION_TEMPLATE = Path(__file__).parent / "_templates" / "generation.py"
VERSION = "1"
COPIED_FILES = (
    "model.onnx",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "config.json",
    "generation_config.json",
    "maaskit.json",
)
TEXT_INPUT = "text"


def export_python_model(spec: ModelSpec, out: Path) -> Exported:
    generation = spec.task == "text-generation"
    config = generation_model_config(spec) if generation else python_model_config(spec)
    target = out / spec.name
    version = target / VERSION
    version.mkdir(parents=True, exist_ok=True)
    for name in COPIED_FILES:
        if (spec.path / name).is_file():
            shutil.copyfile(spec.path / name, version / name)
    for external in spec.path.glob("model.onnx?*"):
        # Weights stored outside the graph (``model.onnx_data``) must sit next to it.
        shutil.copyfile(external, version / external.name)
    shutil.copyfile(GENERATION_TEMPLATE if generation else TEMPLATE, version / "model.py")
    (target / "config.pbtxt").write_text(config, encoding="utf-8")
    return Exported(spec.name, spec.task, target)


def generation_model_config(spec: ModelSpec) -> str:
    """A decoupled model (one response per piece of text) for Triton's generate extension."""
    from tokenizers import Tokenizer

    from ..generation.model_config import GenerationModelConfig

    try:
        folder = GenerationModelConfig.from_folder(spec.path, spec.name)
    except ValueError as exc:
        raise ExportError(f"{spec.name}: {exc}") from exc
    eos = set(folder.eos_token_ids)
    if not eos and folder.special_tokens.get("eos_token"):
        # As the reference server's engine: the tokenizer's eos token when the config names none.
        token_id = Tokenizer.from_file(str(spec.tokenizer_path)).token_to_id(
            folder.special_tokens["eos_token"]
        )
        eos = set() if token_id is None else {token_id}
    settings = {
        "maaskit_task": spec.task,
        "maaskit_max_context_tokens": str(folder.max_context_tokens),
        "maaskit_eos_token_ids": json.dumps(sorted(eos)),
        "maaskit_intra_op_threads": str(_triton_option(spec, "intra_op_threads", 1)),
    }
    lines = [
        f"name: {json.dumps(spec.name)}",
        'backend: "python"',
        "max_batch_size: 0",
        "model_transaction_policy { decoupled: true }",
        "input [",
        tensor_line(TensorSpec("text_input", "TYPE_STRING", [1])),
        "]",
        "output [",
        tensor_line(TensorSpec("text_output", "TYPE_STRING", [1])),
        "]",
        instance_group(spec),
    ]
    lines += [parameter(key, value) for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def answer_outputs(spec: ModelSpec) -> list[TensorSpec]:
    """The outputs clients read, named as on the reference server's KServe routes."""
    if spec.task == "classification":
        classes = _classes(spec)
        return [
            TensorSpec("probabilities", "TYPE_FP32", [classes]),
            TensorSpec("label", "TYPE_STRING", [1]),
            TensorSpec("labels", "TYPE_STRING", [classes]),
        ]
    return [TensorSpec("embedding", "TYPE_FP32", [_dimensions(spec)])]


def encoder_settings(spec: ModelSpec) -> dict[str, str]:
    """The ``maaskit_*`` parameters ``model.py`` reads (config parameters are strings)."""
    return {
        "maaskit_task": spec.task,
        "maaskit_max_input_tokens": str(spec.max_input_tokens),
        "maaskit_truncation_default": "true" if spec.truncation_default else "false",
        "maaskit_pooling": spec.pooling,
        "maaskit_normalize": "true" if spec.normalize else "false",
        "maaskit_labels": json.dumps(list(spec.labels)),
        "maaskit_intra_op_threads": str(_triton_option(spec, "intra_op_threads", 0)),
    }


def python_model_config(spec: ModelSpec) -> str:
    """The ``config.pbtxt`` of the Python-backend model for ``spec`` (an encoder)."""
    lines = [
        f"name: {json.dumps(spec.name)}",
        'backend: "python"',
        f"max_batch_size: {spec.batching.max_batch_size}",
        "input [",
        tensor_line(TensorSpec(TEXT_INPUT, "TYPE_STRING", [1])),
        "]",
        "output [",
        ",\n".join(tensor_line(t) for t in answer_outputs(spec)),
        "]",
        *dynamic_batching(spec),
        instance_group(spec),
    ]
    lines += [parameter(key, value) for key, value in encoder_settings(spec).items()]
    return "\n".join(lines) + "\n"


def _triton_option(spec: ModelSpec, key: str, default: int) -> int:
    raw = spec.options.get("triton", {})
    value = raw.get(key, default) if isinstance(raw, dict) else default
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ExportError(f"{spec.name}: maaskit.json triton.{key} must be an integer >= 0")
    return value


def _classes(spec: ModelSpec) -> int:
    if spec.labels:
        return len(spec.labels)
    from ._onnxruntime import graph_tensors

    _, outputs = graph_tensors(spec.onnx_path)
    logits = next((t for t in outputs if t.name == "logits"), outputs[0])
    if logits.dims and logits.dims[-1] > 0:
        return logits.dims[-1]
    raise ExportError(f"{spec.name}: cannot tell the number of classes; add labels")


def _dimensions(spec: ModelSpec) -> int:
    from ._onnxruntime import graph_tensors

    _, outputs = graph_tensors(spec.onnx_path)
    names = [t.name for t in outputs]
    wanted = (
        "sentence_embedding"
        if "sentence_embedding" in names
        else ("last_hidden_state" if "last_hidden_state" in names else names[0])
    )
    dims = next(t.dims for t in outputs if t.name == wanted)
    if dims and dims[-1] > 0:
        return dims[-1]
    hidden = spec.config.get("hidden_size")
    if isinstance(hidden, int) and hidden > 0:
        return hidden
    raise ExportError(f"{spec.name}: cannot tell the embedding size from model.onnx")
