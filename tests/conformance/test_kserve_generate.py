"""Triton's generate extension on the real server, with raw HTTP as Triton's docs show it
(``curl -X POST .../generate -d '{"text_input": ..., "parameters": {...}}'``)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _support.server import ServerProcess
from e2e._helpers import require_model

from ._helpers import GENERATION_MODEL, MAX_TOKENS, PROMPT, openai_completion

pytestmark = [pytest.mark.e2e, pytest.mark.conformance]

GREEDY = {"max_tokens": MAX_TOKENS, "temperature": 0}


def generate(server: ServerProcess, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/v2/models/{GENERATION_MODEL}{path}",
        json=body,
        headers=server.headers,
        timeout=60,
    )


def sse_payloads(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith("text/event-stream")
    return [
        json.loads(line.removeprefix("data: "))
        for line in response.text.splitlines()
        if line.startswith("data: ")
    ]


def test_generate_and_generate_stream_equal_openai_greedy_text(
    reference_server: ServerProcess,
) -> None:
    require_model(reference_server, GENERATION_MODEL)
    expected = openai_completion(reference_server)
    answer = generate(reference_server, "/generate", {"text_input": PROMPT, "parameters": GREEDY})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "model_name": GENERATION_MODEL,
        "model_version": "1",
        "text_output": expected,
    }
    # TensorRT-LLM's examples put the sampling keys at the top level.
    flat = generate(reference_server, "/versions/1/generate", {"text_input": PROMPT, **GREEDY})
    assert flat.json()["text_output"] == expected
    full = generate(
        reference_server,
        "/generate",
        {"text_input": PROMPT, "parameters": {**GREEDY, "exclude_input_in_output": False}},
    )
    assert full.json()["text_output"] == PROMPT + expected
    pieces = sse_payloads(
        generate(reference_server, "/generate_stream", {"text_input": PROMPT, "parameters": GREEDY})
    )
    assert len(pieces) >= 1
    assert "".join(piece["text_output"] for piece in pieces) == expected
    whole = sse_payloads(
        generate(
            reference_server,
            "/generate_stream",
            {"text_input": PROMPT, "parameters": {**GREEDY, "stream": False}},
        )
    )
    assert [piece["text_output"] for piece in whole] == [expected]
