"""onnxruntime session creation with settings that suit a shared, small CPU."""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime as ort


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # pragma: no cover - macOS and Windows


def create_session(
    path: Path, *, intra_op_threads: int = 0, spinning: bool = False
) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning threads burn idle CPU between requests; on a shared machine that costs everyone,
    # so it is opt-in (--ort-spinning). Single-threaded sessions have no pool to spin.
    allow = "1" if spinning else "0"
    options.add_session_config_entry("session.intra_op.allow_spinning", allow)
    options.add_session_config_entry("session.inter_op.allow_spinning", allow)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
