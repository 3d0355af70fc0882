"""What every backend's export shares: results, errors and the ``config.pbtxt`` sections that
come from ``maaskit.json`` (dynamic batching, instance groups, parameters)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..model_spec import ModelSpec

INSTANCE_KINDS = ("KIND_CPU", "KIND_GPU", "KIND_AUTO")


class ExportError(Exception):
    """The folder cannot be exported; the message says why."""


@dataclass(frozen=True)
class TensorSpec:
    name: str
    data_type: str  # Triton's TYPE_*
    dims: list[int]


def tensor_line(tensor: TensorSpec) -> str:
    dims = ", ".join(str(d) for d in tensor.dims)
    return f"  {{ name: {json.dumps(tensor.name)} data_type: {tensor.data_type} dims: [ {dims} ] }}"


@dataclass(frozen=True)
class Exported:
    """One model folder's outcome: written to ``path``, or skipped with the reason why."""

    name: str
    task: str
    path: Path
    skipped: str | None = None


def dynamic_batching(spec: ModelSpec) -> list[str]:
    """``dynamic_batching`` from ``maaskit.json``'s ``batching`` (the delay in microseconds)."""
    delay_us = round(spec.batching.max_queue_delay_ms * 1000)
    return [
        "dynamic_batching {",
        f"  preferred_batch_size: [ {', '.join(map(str, preferred_sizes(spec)))} ]",
        f"  max_queue_delay_microseconds: {delay_us}",
        "}",
    ]


def preferred_sizes(spec: ModelSpec) -> list[int]:
    raw = spec.options.get("batching", {})
    wanted = raw.get("preferred_batch_size") if isinstance(raw, dict) else None
    limit = spec.batching.max_batch_size
    if isinstance(wanted, list) and all(
        isinstance(s, int) and not isinstance(s, bool) and 0 < s <= limit for s in wanted
    ):
        return sorted(set(wanted))
    return sorted({min(8, limit), limit})


def instance_group(spec: ModelSpec) -> str:
    """``instance_group`` from ``maaskit.json``'s ``triton``: ``instance_count`` (default 1)
    copies of the model, of ``instance_kind`` (default ``KIND_CPU``)."""
    raw = spec.options.get("triton", {})
    if not isinstance(raw, dict):
        raise ExportError(f"{spec.name}: maaskit.json 'triton' must be an object")
    count = raw.get("instance_count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ExportError(f"{spec.name}: maaskit.json triton.instance_count must be >= 1")
    kind = raw.get("instance_kind", "KIND_CPU")
    if kind not in INSTANCE_KINDS:
        raise ExportError(
            f"{spec.name}: maaskit.json triton.instance_kind must be one of "
            f"{', '.join(INSTANCE_KINDS)}"
        )
    return f"instance_group [ {{ count: {count} kind: {kind} }} ]"


def parameter(key: str, value: str) -> str:
    lines = [
        "parameters {",
        f"  key: {json.dumps(key)}",
        f"  value: {{ string_value: {json.dumps(value)} }}",
        "}",
    ]
    return "\n".join(lines)
