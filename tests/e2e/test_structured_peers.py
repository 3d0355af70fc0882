"""Structured outputs on TGI's ``/generate`` (``grammar``) and Ollama's ``/api/chat``
(``format``, ``tools``), through the official ``text-generation`` and ``ollama`` clients."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import httpx
import jsonschema
import ollama
import pytest
from _support.server import ServerProcess
from text_generation import Client as TGIClient
from text_generation.types import Grammar, GrammarType

pytestmark = pytest.mark.e2e

MODEL = "tiny-shakespeare"
POINT = {
    "type": "object",
    "properties": {"x": {"type": "integer"}, "label": {"type": "string"}},
    "required": ["x", "label"],
    "additionalProperties": False,
}
TOOL: Any = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Look a word up",
        "parameters": {
            "type": "object",
            "properties": {"word": {"type": "string"}},
            "required": ["word"],
        },
    },
}


@pytest.fixture(scope="module")
def tgi(reference_server: ServerProcess) -> TGIClient:
    return TGIClient(
        f"{reference_server.base_url}/models/{MODEL}", headers=reference_server.headers
    )


@pytest.fixture(scope="module")
def ollama_client(reference_server: ServerProcess) -> ollama.Client:
    return ollama.Client(host=reference_server.base_url, headers=reference_server.headers)


@pytest.mark.parametrize("seed", range(3))
def test_tgi_json_grammar(tgi: TGIClient, seed: int) -> None:
    grammar = Grammar(type=GrammarType.Json, value=POINT)
    answer = tgi.generate("KING:", max_new_tokens=120, do_sample=True, seed=seed, grammar=grammar)
    jsonschema.validate(json.loads(answer.generated_text), POINT)


def test_tgi_regex_grammar_streamed(tgi: TGIClient) -> None:
    grammar = Grammar(type=GrammarType.Regex, value=r"[0-9]{4}-[0-9]{2}")
    tokens = [
        response.token.text
        for response in tgi.generate_stream("KING:", max_new_tokens=20, grammar=grammar)
        if not response.token.special
    ]
    assert re.fullmatch(r"[0-9]{4}-[0-9]{2}", "".join(tokens))


def test_tgi_bad_grammar_is_422(reference_server: ServerProcess) -> None:
    response = httpx.post(
        f"{reference_server.base_url}/models/{MODEL}/generate",
        headers=reference_server.headers,
        json={"inputs": "KING", "parameters": {"grammar": {"type": "regex", "value": "(x"}}},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error_type"] == "validation"


@pytest.mark.parametrize("stream", [False, True])
def test_ollama_format_schema_and_json(ollama_client: ollama.Client, stream: bool) -> None:
    messages = [{"role": "user", "content": "Where?"}]
    options = {"seed": 4, "num_predict": 150}
    formats: list[tuple[dict[str, Any] | Literal["json"], dict[str, Any]]] = [
        (POINT, POINT),
        ("json", {"type": "object"}),
    ]
    for fmt, schema in formats:
        if stream:
            parts = ollama_client.chat(
                model=MODEL, messages=messages, format=fmt, options=options, stream=True
            )
            text = "".join(part.message.content or "" for part in parts)
        else:
            text = (
                ollama_client.chat(
                    model=MODEL, messages=messages, format=fmt, options=options
                ).message.content
                or ""
            )
        jsonschema.validate(json.loads(text), schema)


@pytest.mark.parametrize("stream", [False, True])
def test_ollama_tools_answer_with_a_call_then_text(
    ollama_client: ollama.Client, stream: bool
) -> None:
    messages: list[Any] = [{"role": "user", "content": "Define 'wherefore'."}]
    options = {"seed": 2, "num_predict": 100}
    if stream:
        parts = list(
            ollama_client.chat(
                model=MODEL, messages=messages, tools=[TOOL], options=options, stream=True
            )
        )
        calls = [call for part in parts for call in part.message.tool_calls or []]
    else:
        reply = ollama_client.chat(model=MODEL, messages=messages, tools=[TOOL], options=options)
        calls = list(reply.message.tool_calls or [])
    assert len(calls) == 1
    assert calls[0].function.name == "lookup"
    arguments = dict(calls[0].function.arguments)
    jsonschema.validate(arguments, TOOL["function"]["parameters"])
    messages += [
        {"role": "assistant", "content": "", "tool_calls": [calls[0].model_dump()]},
        {"role": "tool", "content": "for what reason"},
    ]
    after = ollama_client.chat(
        model=MODEL, messages=messages, tools=[TOOL], options={"num_predict": 8}
    )
    assert not after.message.tool_calls
    assert after.message.content
