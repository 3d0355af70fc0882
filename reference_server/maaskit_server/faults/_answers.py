"""Scripted answers: the next answer of a generation route, fixed by a test.

Off unless the server runs with ``--enable-faults`` (the script lives on the fault controller,
which exists only then). ``POST /_maaskit/answers`` with the admin key and
``{"answers": [{"route": "/v1/chat/*", "model": "tiny-shakespeare", "times": 1, "text": "Hi"}]}``
queues answers; each applies to the next ``times`` generation requests whose path matches
``route`` (shell pattern) and whose model is ``model`` (both optional). An answer is one of:

* ``"text": "..."`` — the assistant's text;
* ``"json": {...}`` — a JSON value, sent as its compact text;
* ``"tool_call": {"name": "f", "arguments": {...}}`` — a tool call (chat routes);
* ``"embedding": [0.1, ...]`` — the vector of every input of the next embeddings call (or a
  list of vectors, one per input): ``/v1/embeddings``, HF/TEI ``/embed`` and feature
  extraction, KServe ``/infer``, Ollama ``/api/embed`` and ``/api/embeddings``;
* ``"label": "positive"`` — the label of every input of the next classification call (its
  probability 1, the others 0): ``/v1/classify``, HF/TEI ``/predict`` and text
  classification, KServe ``/infer``.

Generation answers apply on every route that generates: OpenAI, TGI/HF, KServe ``/infer``
and ``/generate[_stream]``, and Ollama.

Each kind is taken by its own routes only: a queued label never answers a chat request.
A text, JSON or tool-call answer is not pasted into the response: it becomes a grammar that
admits exactly that text, and the model generates it token by token. So streaming, token
counts, ``max_tokens`` (a longer answer ends with ``length``), stop sequences and every
protocol's shape behave as for a real answer. ``GET`` lists the queued answers, ``DELETE``
clears them.
"""

from __future__ import annotations

import fnmatch
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from starlette.requests import Request

from ..errors import bad_request
from ..generation.grammar import Grammar
from ..generation.tools import FUNCTION_NAME
from ._grammar import FaultSyntaxError

__all__ = [
    "AnswerScript",
    "ScriptedAnswer",
    "scripted_grammar",
    "scripted_probabilities",
    "scripted_vectors",
    "take_answer",
]

MAX_ANSWERS = 1_000
MAX_VECTOR_LENGTH = 8_192
AnswerKind = Literal["generation", "embedding", "label"]
_KINDS = ("text", "json", "tool_call", "embedding", "label")


@dataclass
class ScriptedAnswer:
    kind: AnswerKind
    route: str | None
    model: str | None
    remaining: int
    text: str = ""  # what the model is made to generate
    tool_call: bool = False  # chat routes answer it as a tool call (``NAME{arguments}``)
    vectors: tuple[tuple[float, ...], ...] = ()
    label: str = ""
    fired: int = 0

    def vector_for(self, index: int) -> list[float]:
        """Input ``index``'s vector: its own when one per input was scripted, else the one."""
        return list(self.vectors[index if len(self.vectors) > 1 else 0])

    def grammar(self) -> Grammar:
        return Grammar.lark(f"start: {json.dumps(self.text)}", param="answer")

    def matches(self, kind: AnswerKind, path: str, model: str | None) -> bool:
        if self.remaining <= 0 or self.kind != kind:
            return False
        if self.route is not None and not fnmatch.fnmatchcase(path, self.route):
            return False
        return self.model is None or self.model == model

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "tool_call": self.tool_call,
            "vectors": [list(vector) for vector in self.vectors],
            "label": self.label,
            "route": self.route,
            "model": self.model,
            "remaining": self.remaining,
            "fired": self.fired,
        }


def answer_from_json(data: Any) -> ScriptedAnswer:
    if not isinstance(data, Mapping):
        raise FaultSyntaxError("each answer must be a JSON object")
    unknown = set(data) - {*_KINDS, "route", "model", "times"}
    if unknown:
        raise FaultSyntaxError(f"unknown answer field(s): {', '.join(sorted(unknown))}")
    kinds = [key for key in _KINDS if key in data]
    if len(kinds) != 1:
        raise FaultSyntaxError(f"an answer needs exactly one of: {', '.join(_KINDS)}")
    kind = kinds[0]
    times = data.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise FaultSyntaxError("'times' must be an integer >= 1")
    route, model = data.get("route"), data.get("model")
    for field, value in (("route", route), ("model", model)):
        if value is not None and (not isinstance(value, str) or not value):
            raise FaultSyntaxError(f"answer field {field!r} must be a non-empty string")
    if kind == "embedding":
        vectors = _vectors(data["embedding"])
        return ScriptedAnswer("embedding", route, model, times, vectors=vectors)
    if kind == "label":
        label = data["label"]
        if not isinstance(label, str) or not label:
            raise FaultSyntaxError("'label' must be a non-empty string")
        return ScriptedAnswer("label", route, model, times, label=label)
    tool_call = False
    if kind == "text":
        text = data["text"]
        if not isinstance(text, str) or not text:
            raise FaultSyntaxError("'text' must be a non-empty string")
    elif kind == "json":
        text = json.dumps(data["json"], separators=(", ", ": "))
    else:
        call = data["tool_call"]
        function = call.get("name") if isinstance(call, Mapping) else None
        if not isinstance(function, str) or not FUNCTION_NAME.match(function):
            raise FaultSyntaxError("'tool_call.name' must be a function name")
        arguments = call.get("arguments", {})
        if not isinstance(arguments, Mapping):
            raise FaultSyntaxError("'tool_call.arguments' must be an object")
        text = function + json.dumps(arguments, separators=(", ", ": "))
        tool_call = True
    return ScriptedAnswer("generation", route, model, times, text=text, tool_call=tool_call)


def _vectors(value: Any) -> tuple[tuple[float, ...], ...]:
    rows = value if isinstance(value, list) and value and isinstance(value[0], list) else [value]
    vectors = []
    for row in rows:
        if (
            not isinstance(row, list)
            or not 0 < len(row) <= MAX_VECTOR_LENGTH
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in row)
        ):
            raise FaultSyntaxError("'embedding' must be a list of numbers, or a list of such lists")
        vectors.append(tuple(float(x) for x in row))
    return tuple(vectors)


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

    def take(self, kind: AnswerKind, path: str, model: str | None) -> ScriptedAnswer | None:
        """The first queued answer of ``kind`` for this request, counted as used."""
        with self._lock:
            for answer in self._answers:
                if answer.matches(kind, path, model):
                    answer.remaining -= 1
                    answer.fired += 1
                    return answer
        return None


def take_answer(
    request: Request, model: str, kind: AnswerKind = "generation"
) -> ScriptedAnswer | None:
    """The scripted answer for this request; None on a server without --enable-faults."""
    controller = getattr(request.app.state, "faults", None)
    script: AnswerScript | None = getattr(controller, "answers", None)
    return None if script is None else script.take(kind, request.url.path, model)


FloatRows = list[npt.NDArray[np.float32]]


def scripted_vectors(request: Request, model: str, vectors: FloatRows) -> FloatRows:
    """``vectors``, or the scripted embedding of every input when one is queued."""
    scripted = take_answer(request, model, "embedding")
    if scripted is None:
        return vectors
    return [np.asarray(scripted.vector_for(i), np.float32) for i in range(len(vectors))]


def scripted_probabilities(
    request: Request, model: str, labels: Sequence[str], probabilities: FloatRows
) -> FloatRows:
    """``probabilities``, or a one-hot row of the scripted label for every input."""
    scripted = take_answer(request, model, "label")
    if scripted is None:
        return probabilities
    if scripted.label not in labels:
        message = f"The scripted label {scripted.label!r} is not one of {list(labels)}."
        raise bad_request(message, param="label", code="invalid_scripted_answer")
    one_hot = np.eye(len(labels), dtype=np.float32)[list(labels).index(scripted.label)]
    return [one_hot] * len(probabilities)


def scripted_grammar(request: Request, model: str, grammar: Grammar | None) -> Grammar | None:
    """``grammar``, or one admitting exactly the scripted text (a tool call as plain text)."""
    scripted = take_answer(request, model)
    return grammar if scripted is None else scripted.grammar()
