"""Finding the base encoder: a model folder that serves embeddings (token states or a pooled
vector), named by path or by the name of a default model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..model_spec import ModelSpec, ModelSpecError, read_model_spec
from ..settings import DEFAULT_MODELS_DIR
from .errors import TrainingError

DEFAULT_BASE = "all-minilm-l6-v2"
_FEEDABLE = {"input_ids", "attention_mask", "token_type_ids"}


@dataclass(frozen=True)
class BaseEncoder:
    """A checked encoder folder and the graph tensors the head is attached to."""

    name: str
    spec: ModelSpec
    input_names: tuple[str, ...]
    #: ``last_hidden_state`` ([batch, tokens, hidden], pooled by the head's graph) or an
    #: already pooled ``sentence_embedding`` ([batch, hidden]).
    output_name: str
    pooled: bool
    hidden_size: int


def resolve_base(base: str | Path) -> Path:
    """``base`` as a folder, else as the name of a bundled default model."""
    path = Path(base)
    if path.is_dir():
        return path
    default = DEFAULT_MODELS_DIR / str(base)
    if isinstance(base, str) and "/" not in base and default.is_dir():
        return default
    known = ", ".join(sorted(p.name for p in DEFAULT_MODELS_DIR.iterdir() if p.is_dir()))
    raise TrainingError(
        f"base model {str(base)!r} is neither a folder nor a default model (defaults: {known})"
    )


def load_base(base: str | Path) -> BaseEncoder:
    """Check that ``base`` is an encoder the head can be put on; name the problem if not."""
    folder = resolve_base(base)
    try:
        spec = read_model_spec(folder)
    except ModelSpecError as exc:
        raise TrainingError(f"base model {folder} is not a model folder: {exc}") from exc
    if spec.task != "embeddings":
        raise TrainingError(
            f"base model {folder} is a {spec.task} model, not an encoder: use an embeddings "
            f"model folder (e.g. {DEFAULT_BASE})"
        )
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(spec.onnx_path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad graphs
        raise TrainingError(f"base model {folder}: model.onnx does not load: {exc}") from exc
    inputs = tuple(node.name for node in session.get_inputs())
    unknown = sorted(set(inputs) - _FEEDABLE)
    if unknown or "input_ids" not in inputs or "attention_mask" not in inputs:
        raise TrainingError(
            f"base model {folder} is not an encoder: its inputs are {', '.join(inputs)} "
            "(needs input_ids and attention_mask, optionally token_type_ids)"
        )
    outputs = {node.name: node.shape for node in session.get_outputs()}
    if "sentence_embedding" in outputs:
        name, pooled, rank = "sentence_embedding", True, 2
    elif "last_hidden_state" in outputs:
        name, pooled, rank = "last_hidden_state", False, 3
    else:
        raise TrainingError(
            f"base model {folder} is not an encoder: it has no last_hidden_state or "
            f"sentence_embedding output (outputs: {', '.join(outputs)})"
        )
    shape = outputs[name]
    hidden = shape[-1] if shape and isinstance(shape[-1], int) else spec.config.get("hidden_size")
    if len(shape) != rank or not isinstance(hidden, int):
        raise TrainingError(f"base model {folder}: output {name} has an unexpected shape {shape}")
    return BaseEncoder(folder.name, spec, inputs, name, pooled, hidden)
