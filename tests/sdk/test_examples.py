"""Runs each example's ``main()`` in-process against respx.

The same scripts run against the real reference server in tests/e2e/test_examples_live.py;
here they pin the exact output for known answers.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import struct
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import respx

from . import _openai_shapes as shapes
from .conftest import chat_body, chunk_event, sse

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BASE_URL = "http://examples.test/v1"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def example_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAASKIT_BASE_URL", BASE_URL)
    monkeypatch.setenv("MAASKIT_API_KEY", "sk-example")


def test_sync_chat(respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(
        200, json=chat_body("Enter, friend.")
    )

    assert load("sync_chat").main(["Hello", "--model", "chatty", "--max-tokens", "8"]) == 0

    out = capsys.readouterr().out
    assert "Enter, friend." in out
    assert "finish_reason=stop" in out
    sent = json.loads(route.calls[0].request.content)
    assert sent["model"] == "chatty"
    assert sent["max_tokens"] == 8
    assert sent["messages"] == [{"role": "user", "content": "Hello"}]
    assert route.calls[0].request.headers["Authorization"] == "Bearer sk-example"


def test_sync_chat_reports_errors(
    respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(
        404, json={"error": {"message": "model 'x' not found"}}
    )

    assert load("sync_chat").main(["--model", "x"]) == 1

    assert "model 'x' not found" in capsys.readouterr().err


def test_async_embeddings_runs_batches_concurrently(
    respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    def embed(request: httpx.Request) -> httpx.Response:
        texts = json.loads(request.content)["input"]
        # Sentence "s<i>" embeds as a base64 float32 vector pointing along axis i mod 3.
        data = []
        for index, text in enumerate(texts):
            axis = int(text[1:]) % 3
            vector = [1.0 if d == axis else 0.0 for d in range(3)]
            encoded = base64.b64encode(struct.pack("<3f", *vector)).decode()
            data.append({"index": index, "embedding": encoded})
        return httpx.Response(200, json={"data": data, "model": "e"})

    route = respx_mock.post(f"{BASE_URL}/embeddings").mock(side_effect=embed)
    sentences = ["s0", "s1", "s3", "s4", "s6"]

    assert load("async_embeddings").main([*sentences, "--batch-size", "2"]) == 0

    out = capsys.readouterr().out
    assert route.call_count == 3
    assert sorted(json.loads(c.request.content)["input"] for c in route.calls) == [
        ["s0", "s1"],
        ["s3", "s4"],
        ["s6"],
    ]
    assert "5 vectors of 3 dimensions" in out
    assert "cosine('s0', 's3') = 1.000" in out
    assert "cosine('s0', 's1') = 0.000" in out


def test_streaming_chat(respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]) -> None:
    usage = json.dumps(
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
    )
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(
        200, content=sse(chunk_event("To be"), chunk_event(" sure", "stop"), usage, "[DONE]")
    )

    assert load("streaming_chat").main(["Question", "--model", "bard"]) == 0

    out = capsys.readouterr().out
    assert "To be sure" in out
    assert "total_tokens=5" in out
    sent = json.loads(route.calls[0].request.content)
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["model"] == "bard"


def test_tools_and_structured(
    respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    tool_stream = shapes.sse_of(
        shapes.streamed_tool_calls([("call_1", "get_weather", '{"city": "Paris"}')])
    )
    route = respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        side_effect=[
            httpx.Response(200, content=tool_stream),
            httpx.Response(200, json=chat_body("Sunny, 24 degrees.")),
            httpx.Response(200, json=chat_body('{"city": "Paris", "celsius": 24}')),
        ]
    )

    assert load("tools_and_structured").main(["Weather in Paris?"]) == 0

    out = capsys.readouterr().out
    assert out.splitlines() == [
        'tool call: get_weather({"city": "Paris"})',
        "answer: 'Sunny, 24 degrees.'",
        "structured: city='Paris' celsius=24",
    ]
    tool_turn = json.loads(route.calls[1].request.content)["messages"]
    assert tool_turn[1]["tool_calls"][0]["id"] == "call_1"
    assert tool_turn[2] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": json.dumps({"city": "Paris", "sky": "sunny", "celsius": 24}),
    }
    schema = json.loads(route.calls[2].request.content)["response_format"]["json_schema"]
    assert schema["name"] == "Forecast"
