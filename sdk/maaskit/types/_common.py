"""Types shared by every task: token usage, model listings, the raw-JSON carrier."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelInfo", "ModelList", "Result", "Usage"]


class Result(BaseModel):
    """Base of every parsed result: keeps the provider's own JSON reachable as ``.raw``.

    ``raw`` is excluded from ``model_dump()`` and ``repr`` because it duplicates the typed
    fields and can be large (embeddings).
    """

    model_config = ConfigDict(extra="ignore")

    raw: Any = Field(default=None, exclude=True, repr=False)


class Usage(BaseModel):
    """Token counts as reported by the provider (zero when the provider did not say)."""

    model_config = ConfigDict(extra="ignore")

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ModelInfo(Result):
    """One model a provider can serve."""

    id: str
    owned_by: str | None = None
    created: int | None = None


class ModelList(Result):
    """The answer of ``models()``; iterable like a list of :class:`ModelInfo`."""

    data: list[ModelInfo]

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> ModelInfo:
        return self.data[index]

    @property
    def ids(self) -> list[str]:
        return [model.id for model in self.data]
