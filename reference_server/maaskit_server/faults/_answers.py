"""Scripted answers: the next answer of a generation route, fixed by a test.

Off unless the server runs with ``--enable-faults`` (the script lives on the fault controller,
which exists only then). ``POST /_maaskit/answers`` with the admin key and
``{"answers": [{"route": "/v1/chat/*", "model": "tiny-shakespeare", "times": 1, "text": "Hi"}]}``
queues answers; each applies to the next ``times`` generation requests whose path matches
``route`` (shell pattern) and whose model is ``model`` (both optional). An answer is one of:

* ``"text": "..."`` — the assistant's text;
* ``"json": {...}`` — a JSON value, sent as its compact text;
* ``"tool_call": {"name": "f", "arguments": {...}}`` — a tool call (chat routes).

The answer is not pasted into the response: it becomes a grammar that admits exactly that
text, and the model generates it token by token. So streaming, token counts, ``max_tokens``
(a longer answer ends with ``length``), stop sequences and every protocol's shape behave as
for a real answer. ``GET`` lists the queued answers, ``DELETE`` clears them.
"""

from __future__ import annotations

import fnmatch
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ..generation.grammar import Grammar
from ..generation.tools import FUNCTION_NAME
from ._grammar import FaultSyntaxError

__all__ = ["AnswerScript", "ScriptedAnswer", "take_answer"]

MAX_ANSWERS = 1_000


@dataclass
class ScriptedAnswer:
    text: str  # what the model is made to generate
    tool_call: bool  # chat routes answer it as a tool call (``NAME{arguments}``)
    route: str | None
    model: str | None
    remaining: int
    fired: int = 0

    def grammar(self) -> Grammar:
        return Grammar.lark(f"start: {json.dumps(self.text)}", param="answer")

    def matches(self, path: str, model: str | None) -> bool:
        if self.remaining <= 0:
            return False
        if self.route is not None and not fnmatch.fnmatchcase(path, self.route):
            return False
        return self.model is None or self.model == model

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "tool_call": self.tool_call,
            "route": self.route,
            "model": self.model,
            "remaining": self.remaining,
            "fired": self.fired,
        }


def answer_from_json(data: Any) -> ScriptedAnswer:
    if not isinstance(data, Mapping):
        raise FaultSyntaxError("each answer must be a JSON object")
    unknown = set(data) - {"text", "json", "tool_call", "route", "model", "times"}
    if unknown:
        raise FaultSyntaxError(f"unknown answer field(s): {', '.join(sorted(unknown))}")
    kinds = [key for key in ("text", "json", "tool_call") if key in data]
    if len(kinds) != 1:
        raise FaultSyntaxError("an answer needs exactly one of 'text', 'json', 'tool_call'")
    kind = kinds[0]
    tool_call = False
    if kind == "text":
        text = data["text"]
        if not isinstance(text, str) or not text:
            raise FaultSyntaxError("'text' must be a non-empty string")
    elif kind == "json":
        text = json.dumps(data["json"], separators=(", ", ": "))
    else:
        call = data["tool_call"]
        name = call.get("name") if isinstance(call, Mapping) else None
        if not isinstance(name, str) or not FUNCTION_NAME.match(name):
            raise FaultSyntaxError("'tool_call.name' must be a function name")
        arguments = call.get("arguments", {})
        if not isinstance(arguments, Mapping):
            raise FaultSyntaxError("'tool_call.arguments' must be an object")
        text = name + json.dumps(arguments, separators=(", ", ": "))
        tool_call = True
    times = data.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise FaultSyntaxError("'times' must be an integer >= 1")
    route, model = data.get("route"), data.get("model")
    for name, value in (("route", route), ("model", model)):
        if value is not None and (not isinstance(value, str) or not value):
            raise FaultSyntaxError(f"answer field {name!r} must be a non-empty string")
    return ScriptedAnswer(text, tool_call, route, model, times)


class AnswerScript:
    """Thread-safe like the fault controller: the lock only guards the list."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: list[ScriptedAnswer] = []

    def add(self, items: Sequence[Any], *, replace: bool = False) -> None:
        answers = [answer_from_json(item) for item in items]  # all validated first
        with self._lock:
            if replace:
                self._answers = []
            if len(self._answers) + len(answers) > MAX_ANSWERS:
                raise FaultSyntaxError(f"at most {MAX_ANSWERS} answers may be scripted")
            self._answers.extend(answers)

    def clear(self) -> None:
        with self._lock:
            self._answers = []

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"answers": [answer.as_dict() for answer in self._answers]}

    def take(self, path: str, model: str | None) -> ScriptedAnswer | None:
        """The first queued answer for this request, counted as used."""
        with self._lock:
            for answer in self._answers:
                if answer.matches(path, model):
                    answer.remaining -= 1
                    answer.fired += 1
                    return answer
        return None


def take_answer(request: Request, model: str) -> ScriptedAnswer | None:
    """The scripted answer for this request; None on a server without --enable-faults."""
    controller = getattr(request.app.state, "faults", None)
    script: AnswerScript | None = getattr(controller, "answers", None)
    return None if script is None else script.take(request.url.path, model)
