"""Tool calls by constrained decoding: when the server calls a tool, and how a call is read back.

The tools are not rendered into the prompt: a small model's context (256 tokens here) could not
hold their schemas, and the call is produced by the grammar, not by the model knowing the tools.
The model still picks which tool and every argument value, token by token, within the grammar
of :meth:`Grammar.tool_call`: ``NAME{...arguments as JSON...}``.

**When a call is made** (``tool_choice``):

* ``"none"``: never; the answer is text (the tools are accepted and ignored, as OpenAI does).
* ``"required"``: always, to one of the tools (the model chooses which).
* a named function: always, to that function.
* ``"auto"`` (the default when tools are given): a call when the conversation's last message is
  from the user (or system/developer), text when it is a tool result or an assistant turn. So
  a two-turn agent loop goes ``user → tool call → tool result → text`` and ends. The rule
  depends on the messages only; which tool and which arguments follow the sampling, so they are
  reproducible under ``seed`` like any other output.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from maaskit_server.generation.errors import InvalidParameterError
from maaskit_server.generation.grammar import Grammar

FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ToolMode = Literal["none", "auto", "required", "named"]
# Roles after which "auto" calls a tool: somebody asked something.
_ASKING_ROLES = frozenset({"user", "system", "developer"})


@dataclass(frozen=True)
class Tool:
    name: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ToolPlan:
    """The tools of a request and what ``tool_choice`` asked for."""

    tools: tuple[Tool, ...] = ()
    mode: ToolMode = "none"
    name: str | None = None  # the function of a named choice

    def grammar(self, last_role: str | None) -> Grammar | None:
        """The grammar of a tool call, or None when this turn answers with text."""
        if not self.tools or self.mode == "none":
            return None
        if self.mode == "auto" and last_role not in _ASKING_ROLES:
            return None
        chosen = [tool for tool in self.tools if self.mode != "named" or tool.name == self.name]
        return Grammar.tool_call([(tool.name, tool.parameters) for tool in chosen])


def parse_tools(tools: Any, *, param: str = "tools") -> tuple[Tool, ...]:
    """OpenAI's ``tools`` list (also Ollama's): ``[{"type": "function", "function": {...}}]``."""
    if tools is None:
        return ()
    if not isinstance(tools, list):
        raise InvalidParameterError(f"'{param}' must be a list of tools.", param)
    parsed: list[Tool] = []
    for index, item in enumerate(tools):
        where = f"{param}[{index}]"
        if not isinstance(item, dict) or item.get("type", "function") != "function":
            raise InvalidParameterError(f"{where} must be a function tool.", where)
        function = item.get("function")
        if not isinstance(function, dict):
            raise InvalidParameterError(f"{where}.function must be an object.", where)
        name = function.get("name")
        if not isinstance(name, str) or not FUNCTION_NAME.match(name):
            message = f"{where}.function.name must match ^[a-zA-Z0-9_-]{{1,64}}$."
            raise InvalidParameterError(message, f"{where}.function.name")
        parameters = function.get("parameters")
        if parameters is None:
            parameters = {"type": "object", "properties": {}}
        if not isinstance(parameters, dict):
            message = f"{where}.function.parameters must be a JSON schema object."
            raise InvalidParameterError(message, f"{where}.function.parameters")
        if any(tool.name == name for tool in parsed):
            raise InvalidParameterError(f"{where}: the function {name!r} is listed twice.", where)
        parsed.append(Tool(name, parameters))
    return tuple(parsed)


def plan_tools(tools: tuple[Tool, ...], choice: Any, *, param: str = "tool_choice") -> ToolPlan:
    """Combine the tools with OpenAI's ``tool_choice`` (a string or a named function)."""
    if choice is None:
        return ToolPlan(tools, "auto" if tools else "none")
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            message = f"'{param}' must be 'none', 'auto', 'required' or a named function."
            raise InvalidParameterError(message, param)
        if choice != "none" and not tools:
            raise InvalidParameterError(f"'{param}' {choice!r} needs 'tools'.", param)
        mode: ToolMode = choice  # type: ignore[assignment]
        return ToolPlan(tools, mode)
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not isinstance(name, str):
            message = f"'{param}' must name a function: {{'type': 'function', 'function': ...}}."
            raise InvalidParameterError(message, param)
        if not any(tool.name == name for tool in tools):
            raise InvalidParameterError(f"'{param}' names {name!r}, which is not in tools.", param)
        return ToolPlan(tools, "named", name)
    raise InvalidParameterError(f"'{param}' must be a string or an object.", param)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: str  # JSON text, as OpenAI sends it
    id: str = field(default_factory=lambda: new_call_id())


def new_call_id() -> str:
    return f"call_{secrets.token_hex(12)}"


def split_call(text: str) -> ToolCall:
    """``NAME{...}`` (what the tool-call grammar generates) as a call."""
    name, brace, arguments = text.partition("{")
    return ToolCall(name=name, arguments=brace + arguments)


class CallStream:
    """Reads a streamed tool call: the name once it is complete, then argument deltas."""

    def __init__(self) -> None:
        self._name: list[str] = []
        self.call: ToolCall | None = None

    def feed(self, text: str) -> tuple[ToolCall | None, str]:
        """(the call, the first time its name is complete; new argument text)."""
        if self.call is not None:
            return None, text
        name, brace, rest = text.partition("{")
        self._name.append(name)
        if not brace:
            return None, ""
        self.call = ToolCall(name="".join(self._name), arguments="")
        return self.call, brace + rest


def last_role(messages: Sequence[dict[str, Any]]) -> str | None:
    return str(messages[-1].get("role")) if messages else None
