"""Task runtimes: the code that turns a loaded model folder into something routes can call.

The repository looks up a factory by the model's task (``maaskit.json``'s ``"task"`` or the one
inferred from ``config.json``). A factory is called in a worker thread (it loads onnxruntime
sessions) with the model's :class:`~maaskit_server.model_spec.ModelSpec` and a
:class:`RuntimeContext`, and returns an object satisfying :class:`Runtime`.

Each runtime class declares its ``task``; a route asks the repository for a model's runtime by
class (``repository.runtime(name, EmbeddingRuntime)``), and the task comes with it. To add a
task, add its class to :func:`_builtin`, or call :func:`register_runtime` before the app
starts. Model folders whose task has no factory are listed as not loaded, with the reason, and
the rest of the repository still serves.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

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
    task: ClassVar[str]  # the maaskit.json task this runtime serves
    spec: ModelSpec

    async def warmup(self) -> None:
        """Answer one real tiny inference; /ready waits for this on every model."""

    async def close(self) -> None:
        """Release sessions and fail any queued work."""

    def describe(self) -> dict[str, Any]:
        """Task-specific facts for listings: labels, dimensions, context length..."""


RuntimeFactory = Callable[[ModelSpec, RuntimeContext], Runtime]

_REGISTERED: dict[str, RuntimeFactory] = {}


def _builtin() -> dict[str, RuntimeFactory]:
    # Imported here, not at the top: the runtime modules import RuntimeContext from this package.
    from .classification import ClassificationRuntime
    from .embeddings import EmbeddingRuntime
    from .generation import GenerationRuntime
    from .token_classification import TokenClassificationRuntime

    runtimes: list[type[Runtime]] = [
        EmbeddingRuntime,
        ClassificationRuntime,
        GenerationRuntime,
        TokenClassificationRuntime,
    ]
    return {runtime.task: runtime for runtime in runtimes}


def register_runtime(task: str, factory: RuntimeFactory) -> None:
    """Serve model folders of ``task`` with ``factory`` (replaces any earlier one)."""
    _REGISTERED[task] = factory


def runtime_factory(task: str) -> RuntimeFactory | None:
    if task in _REGISTERED:
        return _REGISTERED[task]
    return _builtin().get(task)


def supported_tasks() -> list[str]:
    return sorted(set(_builtin()) | set(_REGISTERED))
