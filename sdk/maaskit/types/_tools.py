"""Tool calls and log-probabilities, with the field names of OpenAI's chat completion types.

A finished answer's calls are :class:`ToolCall` (``id``, ``type``, ``function.name`` and
``function.arguments``, a JSON *string* as the model wrote it). A stream sends
:class:`ToolCallDelta` pieces keyed by ``index``; ``Stream.final()`` joins them.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ChoiceLogprobs",
    "CompletionLogprobs",
    "FunctionCall",
    "FunctionCallDelta",
    "TokenLogprob",
    "ToolCall",
    "ToolCallDelta",
    "TopLogprob",
]


class FunctionCall(BaseModel):
    """The function a tool call names, and its arguments as the JSON text the model wrote."""

    model_config = ConfigDict(extra="allow")

    name: str
    arguments: str = ""

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments_as_json_text(cls, value: Any) -> Any:
        # Some servers (llama.cpp, older Ollama /v1) send the arguments as an object.
        return json.dumps(value) if isinstance(value, (dict, list)) else value

    def parsed_arguments(self) -> Any:
        """``arguments`` decoded from JSON (raises ``json.JSONDecodeError`` if it is not)."""
        return json.loads(self.arguments) if self.arguments.strip() else {}


class ToolCall(BaseModel):
    """One call the model asks the app to run; answer it with a message of role ``"tool"``
    and ``tool_call_id=call.id``."""

    model_config = ConfigDict(extra="allow")

    # OpenAI always sends an id; a server that does not still has its call kept.
    id: str = ""
    type: str = "function"
    function: FunctionCall


class FunctionCallDelta(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(BaseModel):
    """A streamed piece of a tool call: the first piece of call ``index`` carries ``id`` and
    the function's name, later ones more ``function.arguments`` text."""

    model_config = ConfigDict(extra="allow")

    index: int = 0
    id: str | None = None
    type: str | None = None
    function: FunctionCallDelta | None = None


class TopLogprob(BaseModel):
    model_config = ConfigDict(extra="allow")

    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprob(TopLogprob):
    """One generated token of a chat answer, with the likeliest alternatives at its place
    (as many as ``top_logprobs`` asked for)."""

    top_logprobs: list[TopLogprob] = Field(default_factory=list)


class ChoiceLogprobs(BaseModel):
    """A chat choice's ``logprobs``: one entry per generated token of ``content``."""

    model_config = ConfigDict(extra="allow")

    content: list[TokenLogprob] | None = None
    refusal: list[TokenLogprob] | None = None


class CompletionLogprobs(BaseModel):
    """A text completion's ``logprobs`` (the legacy shape): parallel lists per token, and
    ``top_logprobs`` as one ``{token: logprob}`` map per token."""

    model_config = ConfigDict(extra="allow")

    tokens: list[str] = Field(default_factory=list)
    token_logprobs: list[float | None] = Field(default_factory=list)
    top_logprobs: list[dict[str, float] | None] | None = None
    text_offset: list[int] = Field(default_factory=list)
