"""Types shared by every task: token usage, model listings, the raw-JSON carrier."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CompletionTokensDetails",
    "ModelInfo",
    "ModelList",
    "PromptTokensDetails",
    "ResponseInfo",
    "Result",
    "Usage",
]


@dataclass(frozen=True)
class ResponseInfo:
    """The HTTP side of a result: ``status_code``, ``headers`` (lower-case names; read
    ``x-ratelimit-*`` here), ``endpoint`` (the name of the Endpoint that answered) and
    ``attempts`` (the attempts the call took)."""

    status_code: int
    headers: Mapping[str, str]
    endpoint: str | None = None
    attempts: int = 1

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-request-id") or self.headers.get("request-id")


class Result(BaseModel):
    """Base of every parsed result: keeps the provider's own JSON reachable as ``.raw``.

    ``raw`` is excluded from ``model_dump()`` and ``repr`` because it duplicates the typed
    fields and can be large (embeddings).
    """

    model_config = ConfigDict(extra="ignore")

    raw: Any = Field(default=None, exclude=True, repr=False)
    # How the answer came: status, headers, request id, endpoint (set by the client).
    response: ResponseInfo | None = Field(default=None, exclude=True, repr=False)

    @property
    def request_id(self) -> str | None:
        """The server's ``x-request-id`` (or ``request-id``) for this answer, if it sent one."""
        return self.response.request_id if self.response is not None else None


class PromptTokensDetails(BaseModel):
    """OpenAI's ``usage.prompt_tokens_details``: prompt tokens served from the cache."""

    model_config = ConfigDict(extra="allow")

    cached_tokens: int = 0


class CompletionTokensDetails(BaseModel):
    """OpenAI's ``usage.completion_tokens_details``: reasoning tokens are billed as output."""

    model_config = ConfigDict(extra="allow")

    reasoning_tokens: int = 0


class Usage(BaseModel):
    """Token counts as reported by the provider (zero when the provider did not say).

    ``cost`` is in US dollars, filled by the client when the endpoint has a ``Price``.
    """

    model_config = ConfigDict(extra="ignore")

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None
    cost: float | None = None

    @property
    def cached_tokens(self) -> int:
        details = self.prompt_tokens_details
        return details.cached_tokens if details is not None else 0


class ModelInfo(Result):
    """One model a provider can serve."""

    id: str
    owned_by: str | None = None
    created: int | None = None
    # The maaskit reference server lists what a model costs (``price_per_million_tokens``).
    price_per_million_tokens: float | None = None


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
