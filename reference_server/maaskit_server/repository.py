"""The model repository: a folder of model folders, loaded in the background.

:meth:`ModelRepository.scan` reads every folder's spec (cheap); :meth:`ModelRepository.load_all`
then creates each runtime in a worker thread and runs its warm-up inference. A folder that fails
at any step is kept with its status and reason, and the others still serve. Routes look models
up with :meth:`ModelRepository.runtime`, which answers the client's errors (404, wrong task).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from . import audit, metrics
from .errors import APIError, model_not_found
from .model_spec import ModelSpec, ModelSpecError, looks_like_model_folder, read_model_spec
from .runtimes import Runtime, RuntimeContext, runtime_factory
from .security import MODEL_SCOPE

logger = logging.getLogger("maaskit_server.repository")

RuntimeT = TypeVar("RuntimeT", bound=Runtime)


class ModelStatus(str, enum.Enum):
    PENDING = "pending"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"
    UNSUPPORTED = "unsupported"


@dataclass
class ModelEntry:
    name: str
    path: Path
    status: ModelStatus = ModelStatus.PENDING
    reason: str = ""
    spec: ModelSpec | None = None
    runtime: Runtime | None = None
    size_bytes: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return self.spec.task if self.spec else "unknown"

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "task": self.task,
            "status": self.status.value,
            "reason": self.reason,
            "size_bytes": self.size_bytes,
            **self.details,
        }


class ModelRepository:
    def __init__(self, root: Path, context: RuntimeContext) -> None:
        self.root = root
        self.context = context
        self._entries: dict[str, ModelEntry] = {}
        self.loading_finished = asyncio.Event()

    def scan(self) -> None:
        """Read the spec of every model folder under ``root`` (no sessions are created).

        ``root`` is a folder of model folders, or one model folder itself (what ``optimum-cli
        export onnx`` writes), which is then served under the folder's name.
        """
        self._entries.clear()
        if not self.root.is_dir():
            logger.warning("model repository %s is not a directory", self.root)
            return
        for folder in model_folders(self.root):
            entry = ModelEntry(folder.name, folder, size_bytes=_folder_size(folder))
            try:
                entry.spec = read_model_spec(folder)
            except ModelSpecError as exc:
                entry.status, entry.reason = ModelStatus.FAILED, str(exc)
            else:
                if runtime_factory(entry.spec.task) is None:
                    entry.status = ModelStatus.UNSUPPORTED
                    entry.reason = f"no runtime is registered for task {entry.spec.task!r}"
            self._entries[entry.name] = entry

    async def load_all(self) -> None:
        """Load and warm up every pending model, one at a time (the CPU is the bottleneck)."""
        try:
            for entry in self._entries.values():
                if entry.status is ModelStatus.PENDING:
                    await self._load(entry)
        finally:
            self.loading_finished.set()

    async def _load(self, entry: ModelEntry) -> None:
        assert entry.spec is not None
        factory = runtime_factory(entry.spec.task)
        assert factory is not None
        entry.status = ModelStatus.LOADING
        loop = asyncio.get_running_loop()
        try:
            runtime = await loop.run_in_executor(
                self.context.executor, factory, entry.spec, self.context
            )
            entry.runtime = runtime
            with metrics.uncounted():
                await runtime.warmup()
            entry.details = runtime.describe()
        except Exception as exc:  # a broken folder must not stop the others
            logger.exception("model %s failed to load", entry.name)
            entry.status, entry.reason = ModelStatus.FAILED, f"{type(exc).__name__}: {exc}"
            metrics.MODEL_READY.labels(model=entry.name).set(0)
            return
        entry.status, entry.reason = ModelStatus.READY, ""
        metrics.MODEL_READY.labels(model=entry.name).set(1)
        logger.info("model %s ready (%s)", entry.name, entry.spec.task)

    @property
    def ready(self) -> bool:
        """Loading finished and at least one model answered its warm-up inference."""
        return self.loading_finished.is_set() and any(
            entry.status is ModelStatus.READY for entry in self._entries.values()
        )

    def entries(self) -> list[ModelEntry]:
        """Every model the current request's key may see (see security.MODEL_SCOPE)."""
        scope = MODEL_SCOPE.get()
        return [e for e in self._entries.values() if scope is None or e.name in scope]

    def ready_entries(self) -> list[ModelEntry]:
        return [entry for entry in self.entries() if entry.status is ModelStatus.READY]

    def runtime(self, name: str, runtime_type: type[RuntimeT]) -> RuntimeT:
        """The ready runtime of model ``name``, or the client's error (404, 503, wrong task).

        ``runtime_type`` says what the route needs; its ``task`` is the task the model must
        serve."""
        task = runtime_type.task
        scope = MODEL_SCOPE.get()
        entry = self._entries.get(name) if scope is None or name in scope else None
        if entry is not None:
            audit.note_model(name)
        if entry is None:
            raise model_not_found(name)
        if entry.status in (ModelStatus.FAILED, ModelStatus.UNSUPPORTED):
            raise failed_to_load(entry)
        if entry.task != task:
            raise APIError(
                400,
                f"model {name!r} serves {entry.task!r}, not {task!r}",
                param="model",
                code="wrong_model_task",
            )
        if entry.status is not ModelStatus.READY or not isinstance(entry.runtime, runtime_type):
            raise still_loading(entry)
        return entry.runtime

    async def close(self) -> None:
        for entry in self._entries.values():
            if entry.runtime is not None:
                await entry.runtime.close()


def is_single_model_folder(folder: Path) -> bool:
    """``folder`` is one model (an optimum export), not a folder of model folders."""
    return (folder / "model.onnx").is_file() or (folder / "maaskit.json").is_file()


def model_folders(root: Path) -> list[Path]:
    """The model folders ``root`` holds: itself when it is one, else its model sub-folders."""
    if is_single_model_folder(root):
        return [root]
    return [
        folder
        for folder in sorted(root.iterdir())
        if not folder.name.startswith((".", "_")) and looks_like_model_folder(folder)
    ]


def still_loading(entry: ModelEntry) -> APIError:
    """The answer for a model that is configured and still loading: 503, retry in a second."""
    return APIError(
        503,
        f"model {entry.name!r} is still loading; retry shortly",
        type="server_error",
        code="model_loading",
        headers={"Retry-After": "1"},
    )


def failed_to_load(entry: ModelEntry) -> APIError:
    """The answer for a model that is configured but could not load: 503, with the reason."""
    return APIError(
        503,
        f"model {entry.name!r} failed to load: {entry.reason}",
        type="server_error",
        code="model_failed_to_load",
    )


def _folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
