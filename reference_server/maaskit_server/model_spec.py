"""What a model folder declares: task, labels, pooling, limits, batching, price.

A model folder is an optimum export (``model.onnx``, ``tokenizer.json``, ``config.json``) with an
optional ``maaskit.json`` that overrides anything inferred. Reading a spec never loads the ONNX
graph, so listing a repository is cheap and a broken folder is reported with a reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TASKS = ("embeddings", "classification", "text-generation", "token-classification")
POOLING_MODES = ("mean", "cls", "max")
DEFAULT_MAX_INPUT_TOKENS = 512

# Every field maaskit.json may hold, and those of its "batching" and "triton" objects. Most are
# read here; max_context_tokens, step_delay_ms, batching.max_running_sequences and
# batching.max_waiting by generation/model_config.py; preferred_batch_size and triton.* by
# triton_export. docs/model-folder.md documents each one (tests/docs checks that the two lists
# agree), and a folder with any other field is served with a warning naming it, since a
# misspelt field would otherwise be ignored without a word.
FIELDS = (
    "task",
    "labels",
    "description",
    "price_per_million_tokens",
    "max_input_tokens",
    "truncation_default",
    "pooling",
    "normalize",
    "max_context_tokens",
    "step_delay_ms",
    "batching",
    "triton",
)
BATCHING_FIELDS = (
    "max_batch_size",
    "max_queue_delay_ms",
    "bucket_by_length",
    "max_batch_tokens",
    "preferred_batch_size",
    "max_running_sequences",
    "max_waiting",
)
TRITON_FIELDS = ("instance_count", "instance_kind", "intra_op_threads")

logger = logging.getLogger("maaskit_server.model_spec")


class ModelSpecError(Exception):
    """The folder is not a servable model; the message says why."""


@dataclass(frozen=True)
class BatchingConfig:
    max_batch_size: int = 32
    # How long an idle model waits for company before it runs a lone input. 0, as in Triton:
    # with one batch in flight per model, inputs that arrive during a run already form the next
    # batch, so a delay only adds latency when the model is idle (about 2 ms per request at 1
    # client). A model whose throughput grows steeply with batch size may still want a few ms.
    max_queue_delay_ms: float = 0.0
    # Split a batch into sub-batches of similar length so short inputs are not padded to long ones.
    bucket_by_length: bool = False
    # Padded tokens one batch may hold (TEI's max_batch_tokens); batches then group inputs of
    # similar length (see maaskit_server.batching). None: batches count inputs only.
    max_batch_tokens: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: Path
    task: str
    labels: tuple[str, ...] = ()
    max_input_tokens: int = DEFAULT_MAX_INPUT_TOKENS
    truncation_default: bool = False
    pooling: str = "mean"
    normalize: bool = True
    batching: BatchingConfig = field(default_factory=BatchingConfig)
    price_per_million_tokens: float = 0.0
    description: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def onnx_path(self) -> Path:
        return self.path / "model.onnx"

    @property
    def tokenizer_path(self) -> Path:
        return self.path / "tokenizer.json"


def looks_like_model_folder(folder: Path) -> bool:
    return folder.is_dir() and any(
        (folder / name).exists() for name in ("model.onnx", "config.json", "maaskit.json")
    )


def unknown_fields(options: Mapping[str, Any]) -> list[str]:
    """The fields of a ``maaskit.json`` object that no part of the server reads."""
    unknown = [key for key in options if key not in FIELDS]
    for name, known in (("batching", BATCHING_FIELDS), ("triton", TRITON_FIELDS)):
        section = options.get(name)
        if isinstance(section, dict):
            unknown += [f"{name}.{key}" for key in section if key not in known]
    return unknown


def read_model_spec(folder: Path) -> ModelSpec:
    """Read ``folder``'s spec; raise :class:`ModelSpecError` naming what is missing or wrong."""
    config = _read_json(folder / "config.json", required=False)
    options = _read_json(folder / "maaskit.json", required=False)
    unknown = unknown_fields(options)
    if unknown:
        logger.warning(
            "model %s: maaskit.json field(s) %s are not maaskit's and are ignored",
            folder.name,
            ", ".join(unknown),
        )
    for required in ("model.onnx", "tokenizer.json"):
        if not (folder / required).is_file():
            raise ModelSpecError(f"missing {required}")
    task = options.get("task") or infer_task(folder, config)
    if task not in TASKS:
        raise ModelSpecError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    pooling, normalize = _pooling(folder, options)
    return ModelSpec(
        name=folder.name,
        path=folder,
        task=task,
        labels=_labels(config, options),
        max_input_tokens=_positive_int(options, "max_input_tokens", _default_max_tokens(config)),
        truncation_default=bool(options.get("truncation_default", False)),
        pooling=pooling,
        normalize=normalize,
        batching=_batching(options.get("batching", {})),
        price_per_million_tokens=float(options.get("price_per_million_tokens", 0.0)),
        description=str(options.get("description", "")),
        config=config,
        options=options,
    )


def infer_task(folder: Path, config: Mapping[str, Any]) -> str:
    """Guess the task from ``config.json`` the way a Hugging Face export describes itself."""
    architectures = [str(a) for a in config.get("architectures") or []]
    if any(a.endswith("ForSequenceClassification") for a in architectures):
        return "classification"
    if any(a.endswith("ForTokenClassification") for a in architectures):
        return "token-classification"
    if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures):
        return "text-generation"
    if (folder / "modules.json").exists() or (folder / "1_Pooling").is_dir():
        return "embeddings"
    if any(a.endswith("Model") for a in architectures):
        return "embeddings"
    if len(config.get("id2label") or {}) > 2:
        return "classification"
    raise ModelSpecError("cannot infer the task: add maaskit.json with a 'task'")


def _read_json(path: Path, *, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ModelSpecError(f"missing {path.name}")
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelSpecError(f"unreadable {path.name}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelSpecError(f"{path.name} is not a JSON object")
    return data


def _labels(config: Mapping[str, Any], options: Mapping[str, Any]) -> tuple[str, ...]:
    if isinstance(options.get("labels"), list):
        return tuple(str(label) for label in options["labels"])
    id2label = config.get("id2label") or {}
    try:
        return tuple(str(id2label[key]) for key in sorted(id2label, key=int))
    except (TypeError, ValueError) as exc:
        raise ModelSpecError(f"config.json id2label has a non-integer key: {exc}") from exc


def _default_max_tokens(config: Mapping[str, Any]) -> int:
    value = config.get("max_position_embeddings") or config.get("n_positions")
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_MAX_INPUT_TOKENS


def _pooling(folder: Path, options: Mapping[str, Any]) -> tuple[str, bool]:
    # sentence-transformers folders describe pooling in 1_Pooling/config.json and
    # normalisation as a Normalize module in modules.json; maaskit.json overrides both.
    pooling = "mean"
    normalize = True
    st_pooling = _read_json(folder / "1_Pooling" / "config.json", required=False)
    if st_pooling.get("pooling_mode_cls_token"):
        pooling = "cls"
    elif st_pooling.get("pooling_mode_max_tokens"):
        pooling = "max"
    modules_path = folder / "modules.json"
    if modules_path.exists():
        try:
            modules = json.loads(modules_path.read_text(encoding="utf-8"))
            normalize = any("Normalize" in str(m.get("type", "")) for m in modules)
        except (OSError, ValueError, AttributeError) as exc:
            raise ModelSpecError(f"unreadable modules.json: {exc}") from exc
    pooling = str(options.get("pooling", pooling))
    if pooling not in POOLING_MODES:
        raise ModelSpecError(f"unknown pooling {pooling!r}; known: {', '.join(POOLING_MODES)}")
    return pooling, bool(options.get("normalize", normalize))


def _batching(raw: Any) -> BatchingConfig:
    if not isinstance(raw, dict):
        raise ModelSpecError("maaskit.json 'batching' must be an object")
    defaults = BatchingConfig()
    return BatchingConfig(
        max_batch_size=_positive_int(raw, "max_batch_size", defaults.max_batch_size),
        max_queue_delay_ms=float(raw.get("max_queue_delay_ms", defaults.max_queue_delay_ms)),
        bucket_by_length=bool(raw.get("bucket_by_length", defaults.bucket_by_length)),
        max_batch_tokens=(
            _positive_int(raw, "max_batch_tokens", 1) if "max_batch_tokens" in raw else None
        ),
    )


def _positive_int(options: Mapping[str, Any], key: str, default: int) -> int:
    value = options.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ModelSpecError(f"maaskit.json {key!r} must be a positive integer")
    return value
