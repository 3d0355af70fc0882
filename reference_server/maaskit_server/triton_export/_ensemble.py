"""The ensemble export (``--backend ensemble``): the ONNX graph on Triton's onnxruntime backend
(GPU-capable) with text in and answers out, through two Python steps around it.

Per encoder folder ``{m}``:

* ``{m}_tokenize`` (Python backend): ``text`` → the graph's token inputs and ``attention_mask``;
* ``{m}_onnx`` (``onnxruntime_onnx``): the graph, configured as ``--backend onnxruntime`` does;
* ``{m}_postprocess`` (Python backend): the graph's output and ``attention_mask`` → ``embedding``
  or ``probabilities`` / ``label`` / ``labels``;
* ``{m}`` (``platform: "ensemble"``): the three in a row, with the Python-backend export's
  input and outputs, so clients call ``{m}`` as they would on the reference server.

Both Python steps run the Python-backend export's ``model.py`` (its ``maaskit_stage``
parameter picks the step). Token tensors are ``[n, tokens]`` with ``tokens`` the longest text
of a request, so Triton's dynamic batcher merges requests into one graph call only when their
lengths match (Triton batches equal shapes only); tokenizing to a fixed length would batch
everything at the cost of computing the padding.
"""

from __future__ import annotations

import dataclasses
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
from ._onnxruntime import export_onnx_model, graph_tensors
from ._python import TEMPLATE, VERSION, answer_outputs, encoder_settings

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def export_ensemble(spec: ModelSpec, out: Path) -> Exported:
    if spec.task not in ("embeddings", "classification"):
        raise ExportError(f"{spec.name}: the ensemble export serves encoders, not {spec.task}")
    inputs, outputs = graph_tensors(spec.onnx_path)
    token_inputs = [TensorSpec(t.name, t.data_type, [-1]) for t in inputs]
    if not any(t.name == "attention_mask" for t in token_inputs):
        token_inputs.append(TensorSpec("attention_mask", "TYPE_INT64", [-1]))
    graph_output = _graph_output(spec, [t.name for t in outputs])
    main = next(t for t in outputs if t.name == graph_output)
    names = {stage: f"{spec.name}_{stage}" for stage in ("tokenize", "onnx", "postprocess")}

    export_onnx_model(dataclasses.replace(spec, name=names["onnx"]), out)
    settings = encoder_settings(spec)
    tokenize = _python_step(spec, out / names["tokenize"], files=TOKENIZER_FILES)
    inputs_text = [tensor_line(TensorSpec("text", "TYPE_STRING", [1]))]
    (tokenize / "config.pbtxt").write_text(
        _step_config(
            spec,
            names["tokenize"],
            inputs_text,
            [tensor_line(t) for t in token_inputs],
            {**settings, "maaskit_stage": "tokenize"},
        ),
        encoding="utf-8",
    )
    postprocess = _python_step(spec, out / names["postprocess"], files=())
    mask = next(t for t in token_inputs if t.name == "attention_mask")
    (postprocess / "config.pbtxt").write_text(
        _step_config(
            spec,
            names["postprocess"],
            [tensor_line(TensorSpec(main.name, main.data_type, main.dims[1:])), tensor_line(mask)],
            [tensor_line(t) for t in answer_outputs(spec)],
            {**settings, "maaskit_stage": "postprocess", "maaskit_graph_output": graph_output},
        ),
        encoding="utf-8",
    )
    target = out / spec.name
    (target / VERSION).mkdir(parents=True, exist_ok=True)
    ensemble = _ensemble_config(spec, names, [t.name for t in inputs], token_inputs, graph_output)
    (target / "config.pbtxt").write_text(ensemble, encoding="utf-8")
    return Exported(spec.name, spec.task, target)


def _graph_output(spec: ModelSpec, names: list[str]) -> str:
    # The output the reference server's runtimes read, in the same order of preference.
    if spec.task == "classification":
        return "logits" if "logits" in names else names[0]
    for wanted in ("sentence_embedding", "last_hidden_state"):
        if wanted in names:
            return wanted
    return names[0]


def _python_step(spec: ModelSpec, target: Path, *, files: tuple[str, ...]) -> Path:
    version = target / VERSION
    version.mkdir(parents=True, exist_ok=True)
    for name in files:
        if (spec.path / name).is_file():
            shutil.copyfile(spec.path / name, version / name)
    shutil.copyfile(TEMPLATE, version / "model.py")
    return target


def _step_config(
    spec: ModelSpec,
    name: str,
    inputs: list[str],
    outputs: list[str],
    settings: dict[str, str],
) -> str:
    lines = [
        f"name: {json.dumps(name)}",
        'backend: "python"',
        f"max_batch_size: {spec.batching.max_batch_size}",
        "input [",
        ",\n".join(inputs),
        "]",
        "output [",
        ",\n".join(outputs),
        "]",
        *dynamic_batching(spec),
        instance_group(spec),
    ]
    lines += [parameter(key, value) for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _ensemble_config(
    spec: ModelSpec,
    names: dict[str, str],
    graph_inputs: list[str],
    token_inputs: list[TensorSpec],
    graph_output: str,
) -> str:
    answers = answer_outputs(spec)
    answer_names = [t.name for t in answers]

    def mapping(kind: str, pairs: list[str]) -> list[str]:
        return [f'      {kind} {{ key: "{key}" value: "{key}" }}' for key in pairs]

    steps = [
        (names["tokenize"], ["text"], [t.name for t in token_inputs]),
        (names["onnx"], graph_inputs, [graph_output]),
        (names["postprocess"], [graph_output, "attention_mask"], answer_names),
    ]
    lines = [
        f"name: {json.dumps(spec.name)}",
        'platform: "ensemble"',
        f"max_batch_size: {spec.batching.max_batch_size}",
        "input [",
        '  { name: "text" data_type: TYPE_STRING dims: [ 1 ] }',
        "]",
        "output [",
        ",\n".join(tensor_line(t) for t in answers),
        "]",
        "ensemble_scheduling {",
        "  step [",
    ]
    for index, (model, step_inputs, step_outputs) in enumerate(steps):
        lines += [
            "    {",
            f"      model_name: {json.dumps(model)}",
            "      model_version: -1",
            *mapping("input_map", step_inputs),
            *mapping("output_map", step_outputs),
            "    }" + ("," if index < len(steps) - 1 else ""),
        ]
    lines += ["  ]", "}", parameter("maaskit_task", spec.task)]
    return "\n".join(lines) + "\n"
