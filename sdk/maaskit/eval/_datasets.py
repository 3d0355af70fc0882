"""The evaluation sets that ship with maaskit (see ``datasets/README.md``)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATASETS", "dataset_path"]

_FOLDER = Path(__file__).resolve().parent / "datasets"

#: Shipped set name → the task it is for.
DATASETS: dict[str, str] = {
    "sentiment": "classify",
    "retrieval": "embed",
    "sts": "embed",
    "completion": "complete",
}


def dataset_path(name: str) -> Path:
    """The path of the shipped set ``name`` (``sentiment``, ``retrieval``, ``sts``,
    ``completion``)."""
    if name not in DATASETS:
        raise ValueError(f"no shipped dataset {name!r}; one of {', '.join(DATASETS)}")
    return _FOLDER / f"{name}.jsonl"


def resolve_data(data: str) -> Path:
    """``data`` as a path; a shipped set's name when no such file exists."""
    path = Path(data)
    if not path.exists() and data in DATASETS:
        return dataset_path(data)
    return path
