"""Writing the model folder all at once: build it in a hidden staging folder, then rename.

The staging folder sits next to the output (same file system, so the rename is atomic) and its
name starts with a dot, so a server watching the models folder never loads it half-written. A
failed run removes it; an existing output is replaced only with ``overwrite`` and only after
the new folder is complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import TrainingError


def check_output(out: Path, *, overwrite: bool) -> None:
    """Refuse an output that exists (unless ``overwrite``) or that is not a folder."""
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise TrainingError(f"output {out} exists and is not a folder")
        if not overwrite:
            raise TrainingError(
                f"output folder {out} already exists; pass --overwrite to replace it"
            )
    if not out.name or out.name.startswith((".", "_")):
        raise TrainingError(
            f"output {out}: the folder's name is the model's name and cannot start with '.' or '_'"
        )


@contextmanager
def staged_output(out: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield an empty staging folder; on success it becomes ``out``, on error it is removed."""
    check_output(out, overwrite=overwrite)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        stage.chmod(0o755)  # mkdtemp makes it private; a model folder is not secret
    except OSError as exc:
        raise TrainingError(f"cannot create the output folder in {out.parent}: {exc}") from exc
    try:
        yield stage
        check_output(out, overwrite=overwrite)  # something may have appeared meanwhile
        _publish(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _publish(stage: Path, out: Path) -> None:
    old: Path | None = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / out.name)
    try:
        os.rename(stage, out)
    except OSError:
        if old is not None:
            os.rename(old / out.name, out)
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
