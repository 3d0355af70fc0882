"""Structured outputs on the OpenAI routes: ``response_format``, vLLM's ``guided_*`` and
``structured_outputs``, and ``tools`` / ``tool_choice``, as the grammars the engine follows.

One constraint per request: ``response_format`` json_object / json_schema, or one of vLLM's
``guided_json`` / ``guided_regex`` / ``guided_choice`` / ``guided_grammar``, or vLLM's newer
``structured_outputs`` object (``json``, ``regex``, ``choice``, ``grammar``, ``json_object``).
``guided_grammar`` / ``structured_outputs.grammar`` take llguidance's Lark dialect (vLLM's
guidance backend reads the same); GBNF is not translated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ...errors import bad_request
from ...faults import ScriptedAnswer
from ...generation.errors import InvalidParameterError
from ...generation.grammar import Grammar, GrammarCompiler
from ...generation.tools import ToolPlan, last_role, parse_tools, plan_tools

_GUIDED = ("guided_json", "guided_regex", "guided_choice", "guided_grammar")
_STRUCTURED_KEYS = ("json", "regex", "choice", "grammar", "json_object")


@dataclass(frozen=True)
class Constraints:
    """What a chat or completion request constrains: its answer, and when it calls a tool."""

    grammar: Grammar | None
    tools: ToolPlan
    calls_tool: bool  # this turn answers with a tool call

    @property
    def tool_grammar(self) -> Grammar | None:
        return self.grammar if self.calls_tool else None


def constraints(
    body: dict[str, Any],
    compiler_of: Any,
    *,
    messages: list[dict[str, Any]] | None = None,
) -> Constraints:
    """The request's constraints, each grammar checked against the model's tokenizer.

    ``compiler_of`` is a callable returning the model's :class:`GrammarCompiler` (it is built
    only when a request needs it).
    """
    try:
        answer = _answer_grammar(body)
        tools = ToolPlan()
        if messages is not None:
            tools = plan_tools(parse_tools(body.get("tools")), body.get("tool_choice"))
            if tools.tools and body.get("parallel_tool_calls") not in (None, True, False):
                raise InvalidParameterError(
                    "'parallel_tool_calls' must be true or false.", "parallel_tool_calls"
                )
        tool_grammar = tools.grammar(last_role(messages or []))
        grammar = tool_grammar or answer
        if grammar is not None:
            compiler: GrammarCompiler = compiler_of()
            compiler.check(grammar, "tools" if tool_grammar is not None else _param_of(body))
    except InvalidParameterError as exc:
        raise bad_request(exc.message, param=exc.param) from exc
    return Constraints(grammar, tools, calls_tool=tool_grammar is not None)


def scripted(
    constraints: Constraints, answer: ScriptedAnswer, compiler: GrammarCompiler
) -> Constraints:
    """A scripted answer (test servers only) replaces whatever the request constrained."""
    grammar = answer.grammar()
    compiler.check(grammar, "answer")
    return Constraints(grammar, constraints.tools, calls_tool=answer.tool_call)


def _answer_grammar(body: dict[str, Any]) -> Grammar | None:
    found: list[Grammar] = []
    response_format = body.get("response_format")
    if response_format is not None:
        grammar = _response_format(response_format)
        if grammar is not None:
            found.append(grammar)
    for name in _GUIDED:
        value = body.get(name)
        if value is not None:
            found.append(_guided(name, value))
    if body.get("guided_json_object") is True:
        found.append(Grammar.json_object())
    structured = body.get("structured_outputs")
    if structured is not None:
        found.append(_structured_outputs(structured))
    if len(found) > 1:
        raise InvalidParameterError(
            "Only one of response_format, guided_json, guided_regex, guided_choice, "
            "guided_grammar and structured_outputs may constrain a request.",
            "response_format",
        )
    return found[0] if found else None


def _response_format(value: Any) -> Grammar | None:
    param = "response_format"
    if not isinstance(value, dict):
        raise InvalidParameterError(f"'{param}' must be an object.", param)
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return Grammar.json_object()
    if kind == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, dict):
            message = f"'{param}.json_schema' must be an object with 'name' and 'schema'."
            raise InvalidParameterError(message, f"{param}.json_schema")
        name = spec.get("name")
        if name is not None and not isinstance(name, str):
            raise InvalidParameterError(f"'{param}.json_schema.name' must be a string.", param)
        strict = spec.get("strict")
        if strict is not None and not isinstance(strict, bool):
            raise InvalidParameterError(f"'{param}.json_schema.strict' must be a boolean.", param)
        # strict or not, the answer is generated inside the schema: that is what strict means.
        schema = spec.get("schema", {"type": "object"})
        return Grammar.json_schema(schema, param=f"{param}.json_schema.schema")
    raise InvalidParameterError(
        f"'{param}.type' must be 'text', 'json_object' or 'json_schema'; got {kind!r}.", param
    )


def _guided(name: str, value: Any) -> Grammar:
    if name == "guided_json":
        if isinstance(value, str):
            value = _json_text(value, name)
        return Grammar.json_schema(value, param=name)
    if name == "guided_regex":
        return Grammar.regex(value, param=name)
    if name == "guided_choice":
        return Grammar.choice(value, param=name)
    return Grammar.lark(value, param=name)


def _structured_outputs(value: Any) -> Grammar:
    param = "structured_outputs"
    if not isinstance(value, dict):
        raise InvalidParameterError(f"'{param}' must be an object.", param)
    present = [key for key in _STRUCTURED_KEYS if value.get(key) not in (None, False)]
    if len(present) != 1:
        keys = ", ".join(_STRUCTURED_KEYS)
        raise InvalidParameterError(f"'{param}' must set exactly one of: {keys}.", param)
    key = present[0]
    where = f"{param}.{key}"
    item = value[key]
    if key == "json":
        schema = _json_text(item, where) if isinstance(item, str) else item
        return Grammar.json_schema(schema, param=where)
    if key == "regex":
        return Grammar.regex(item, param=where)
    if key == "choice":
        return Grammar.choice(item, param=where)
    if key == "grammar":
        return Grammar.lark(item, param=where)
    return Grammar.json_object()


def _json_text(text: str, param: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidParameterError(f"'{param}' is not valid JSON: {exc}", param) from exc


def _param_of(body: dict[str, Any]) -> str:
    for name in ("response_format", *_GUIDED, "structured_outputs"):
        if body.get(name) is not None:
            return name
    return "response_format"
