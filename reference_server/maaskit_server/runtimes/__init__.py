"""Task runtimes: the code that turns a loaded model folder into something routes can call.

The repository looks up a factory by the model's task (``maaskit.json``'s ``"task"`` or the one
inferred from ``config.json``). A factory is called in a worker thread (it loads onnxruntime
sessions) with the model's :class:`~maaskit_server.model_spec.ModelSpec` and a
:class:`RuntimeContext`, and returns an object satisfying :class:`Runtime`.

To add a task (e.g. text generation), either add a line to ``_BUILTIN`` pointing at
``"module:factory"`` (imported lazily, so a missing optional dependency only fails that task), or
call :func:`register_runtime` before the app starts. Model folders whose task has no factory are
listed as not loaded, with the reason, and the rest of the repository still serves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..model_spec import ModelSpec


@dataclass(frozen=True)
class RuntimeContext:
    """What every runtime shares: the thread pool for blocking work and server-wide limits."""

    executor: Executor
    intra_op_threads: int = 0
    max_queue_size: int = 4096
    encoder_lanes: int = 0


@runtime_checkable
class Runtime(Protocol):
    spec: ModelSpec

    async def warmup(self) -> None:
        """Answer one real tiny inference; /ready waits for this on every model."""

    async def close(self) -> None:
        """Release sessions and fail any queued work."""

    def describe(self) -> dict[str, Any]:
        """Task-specific facts for listings: labels, dimensions, context length..."""


RuntimeFactory = Callable[[ModelSpec, RuntimeContext], Runtime]

_BUILTIN: dict[str, str] = {
    "embeddings": "maaskit_server.runtimes.embeddings:EmbeddingRuntime",
    "classification": "maaskit_server.runtimes.classification:ClassificationRuntime",
    "text-generation": "maaskit_server.generation.runtime:GenerationRuntime",
    "token-classification": (
        "maaskit_server.runtimes.token_classification:TokenClassificationRuntime"
    ),
}
_REGISTERED: dict[str, RuntimeFactory] = {}


def register_runtime(task: str, factory: RuntimeFactory) -> None:
    """Serve model folders of ``task`` with ``factory`` (replaces any earlier one)."""
    _REGISTERED[task] = factory


def runtime_factory(task: str) -> RuntimeFactory | None:
    if task in _REGISTERED:
        return _REGISTERED[task]
    target = _BUILTIN.get(task)
    if target is None:
        return None
    module_name, _, attribute = target.partition(":")
    factory: RuntimeFactory = getattr(importlib.import_module(module_name), attribute)
    return factory


def supported_tasks() -> list[str]:
    return sorted(set(_BUILTIN) | set(_REGISTERED))
