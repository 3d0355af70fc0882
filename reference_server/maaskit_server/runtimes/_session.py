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


def create_session(path: Path, *, intra_op_threads: int = 0) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Threads spin for work inside a call (each of the graph's parallel sections would otherwise
    # wake a sleeping thread: +1 ms per short MiniLM call here, more on VMs), and stop spinning
    # when the call returns. onnxruntime's default keeps them spinning after it too: ~50 ms of a
    # core burnt per lone request on this machine (measured), which a shared machine pays for.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    options.add_session_config_entry("session.force_spinning_stop", "1")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
