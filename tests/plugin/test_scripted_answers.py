"""Scripted answers through the plugin's ``maaskit_server``: each kind on its routes, streamed
and not, through official clients, and only when faults are enabled."""

from __future__ import annotations

import json
from typing import Any

import httpx
import ollama
import openai
import pytest
from _support.server import ServerProcess
from maaskit.testing import MaaSKitServer

MODEL = "tiny-shakespeare"
ASK: Any = [{"role": "user", "content": "hi"}]
TOOLS: Any = [
    {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
]


@pytest.fixture
def client(maaskit_server: MaaSKitServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=maaskit_server.openai_url, api_key=maaskit_server.api_key)


def test_a_scripted_text_is_the_next_chat_answer_only(
    maaskit_server: MaaSKitServer, client: openai.OpenAI
) -> None:
    maaskit_server.answers.text("Good morrow, tester.", route="/v1/chat/completions")
    first = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=40)
    assert first.choices[0].message.content == "Good morrow, tester."
    assert first.choices[0].finish_reason == "stop"
    assert first.usage is not None
    assert first.usage.completion_tokens >= 2  # generated token by token, then EOS
    second = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=8, seed=1)
    assert second.choices[0].message.content != "Good morrow, tester."


def test_scripted_text_streams_and_respects_max_tokens(
    maaskit_server: MaaSKitServer, client: openai.OpenAI
) -> None:
    long_text = "word " * 30
    maaskit_server.answers.text("Streamed, as ever.")
    maaskit_server.answers.text(long_text)
    stream = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=40, stream=True)
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert "".join(pieces) == "Streamed, as ever."
    assert len([piece for piece in pieces if piece]) > 1  # several deltas, not one blob
    cut = client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=5)
    assert cut.choices[0].finish_reason == "length"
    assert long_text.startswith(cut.choices[0].message.content or "")


def test_a_scripted_tool_call_and_json(
    maaskit_server: MaaSKitServer, client: openai.OpenAI
) -> None:
    maaskit_server.answers.tool_call("lookup", {"word": "thee", "n": 2})
    maaskit_server.answers.json({"verdict": "fine", "score": 3}, route="/v1/completions")
    answer = client.chat.completions.create(model=MODEL, messages=ASK, tools=TOOLS, max_tokens=60)
    (call,) = answer.choices[0].message.tool_calls or []
    assert call.function.name == "lookup"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"word": "thee", "n": 2}  # type: ignore[union-attr]
    assert answer.choices[0].finish_reason == "tool_calls"
    completion = client.completions.create(model=MODEL, prompt="KING", max_tokens=60)
    assert json.loads(completion.choices[0].text) == {"verdict": "fine", "score": 3}


def test_scripted_embedding_and_label(maaskit_server: MaaSKitServer, client: openai.OpenAI) -> None:
    maaskit_server.answers.add({"embedding": [[1.0, 0.0], [0.0, 1.0]]})
    maaskit_server.answers.add({"label": "negative"}, model="sentiment")
    vectors = client.embeddings.create(
        model="all-minilm-l6-v2", input=["a", "b"], encoding_format="float"
    )
    assert [item.embedding for item in vectors.data] == [[1.0, 0.0], [0.0, 1.0]]
    response = httpx.post(
        f"{maaskit_server.openai_url}/classify",
        headers=maaskit_server.headers,
        json={"model": "sentiment", "input": ["I love it", "great"]},
    )
    assert [item["label"] for item in response.json()["data"]] == ["negative", "negative"]
    # A chat request took none of them: kinds are kept apart.
    assert all(answer["remaining"] == 0 for answer in maaskit_server.answers.pending())


def test_ollama_routes_take_scripted_answers(maaskit_server: MaaSKitServer) -> None:
    client = ollama.Client(host=maaskit_server.ollama_url, headers=maaskit_server.headers)
    maaskit_server.answers.text("Aye.", route="/api/chat")
    maaskit_server.answers.tool_call("lookup", {"word": "aye"}, route="/api/chat")
    assert client.chat(model=MODEL, messages=ASK).message.content == "Aye."
    reply = client.chat(model=MODEL, messages=ASK, tools=TOOLS, stream=False)
    (call,) = reply.message.tool_calls or []
    assert call.function.name == "lookup"
    assert dict(call.function.arguments) == {"word": "aye"}


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"text": ""},
        {"text": "a", "json": 1},
        {"tool_call": {"name": "bad name"}},
        {"embedding": ["x"]},
        {"label": 3},
        {"text": "a", "times": 0},
        {"text": "a", "colour": "red"},
    ],
)
def test_bad_answers_are_400_and_queue_nothing(
    maaskit_server: MaaSKitServer, answer: dict[str, Any]
) -> None:
    response = httpx.post(
        f"{maaskit_server.url}/_maaskit/answers",
        headers={**maaskit_server.headers, "X-MaaSKit-Admin-Key": maaskit_server.admin_key},
        json={"answers": [answer]},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_answer"
    assert maaskit_server.answers.pending() == []


def test_the_admin_key_is_required(maaskit_server: MaaSKitServer) -> None:
    response = httpx.post(
        f"{maaskit_server.url}/_maaskit/answers",
        headers=maaskit_server.headers,
        json={"answers": [{"text": "sneaky"}]},
    )
    assert response.status_code == 401
    assert maaskit_server.answers.pending() == []


def test_a_default_server_has_no_answer_route(reference_server: ServerProcess) -> None:
    response = httpx.post(
        f"{reference_server.base_url}/_maaskit/answers",
        headers=reference_server.headers,
        json={"answers": [{"text": "nope"}]},
    )
    assert response.status_code == 404
