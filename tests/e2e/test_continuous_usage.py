"""vLLM's ``stream_options.continuous_usage_stats``: with ``include_usage`` every chunk carries
the usage so far (its choice's completion tokens), the last equal to the final usage chunk."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _support.server import ServerProcess

pytestmark = pytest.mark.e2e

MODEL = "tiny-shakespeare"


def stream(server: ServerProcess, chat: bool, options: dict[str, Any], n: int = 1) -> list[Any]:
    prompt: dict[str, Any]
    if chat:
        path, prompt = "/chat/completions", {"messages": [{"role": "user", "content": "Speak."}]}
    else:
        path, prompt = "/completions", {"prompt": "ROMEO:"}
    body = {
        "model": MODEL,
        "max_tokens": 10,
        "seed": 3,
        "n": n,
        "stream": True,
        "stream_options": options,
        **prompt,
    }
    response = httpx.post(server.v1 + path, json=body, headers=server.headers, timeout=60)
    assert response.status_code == 200, response.text
    lines = response.text.splitlines()
    return [json.loads(line[6:]) for line in lines if line.startswith("data: {")]


@pytest.mark.parametrize("chat", [True, False], ids=["chat", "completions"])
def test_every_chunk_carries_the_usage_so_far(reference_server: ServerProcess, chat: bool) -> None:
    options = {"include_usage": True, "continuous_usage_stats": True}
    chunks = stream(reference_server, chat, options, n=2)
    *choices, final = chunks
    assert final["choices"] == []
    prompt = final["usage"]["prompt_tokens"]
    seen: dict[int, list[int]] = {0: [], 1: []}
    for chunk in choices:
        usage = chunk["usage"]
        assert usage["prompt_tokens"] == prompt
        assert usage["total_tokens"] == prompt + usage["completion_tokens"]
        (choice,) = chunk["choices"]
        seen[choice["index"]].append(usage["completion_tokens"])
    for counts in seen.values():
        assert counts == sorted(counts)  # cumulative: never goes down
        assert counts[-1] >= 1
    # The choices' last counts add up to the final usage.
    assert sum(counts[-1] for counts in seen.values()) == final["usage"]["completion_tokens"]


@pytest.mark.parametrize("chat", [True, False], ids=["chat", "completions"])
def test_without_include_usage_it_adds_nothing_as_in_vllm(
    reference_server: ServerProcess, chat: bool
) -> None:
    chunks = stream(reference_server, chat, {"continuous_usage_stats": True})
    assert all("usage" not in chunk for chunk in chunks)
    plain = stream(reference_server, chat, {"include_usage": True})
    assert all(chunk["usage"] is None for chunk in plain[:-1])


def test_a_non_boolean_value_is_a_400_naming_stream_options(
    reference_server: ServerProcess,
) -> None:
    body = {
        "model": MODEL,
        "prompt": "x",
        "stream": True,
        "stream_options": {"include_usage": True, "continuous_usage_stats": "yes"},
    }
    response = httpx.post(
        reference_server.v1 + "/completions", json=body, headers=reference_server.headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "stream_options"
