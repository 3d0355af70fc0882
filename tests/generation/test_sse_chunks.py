"""The SSE bytes of the OpenAI generation streams: templated chunks, coalesced writes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from maaskit_server.generation.events import FinishEvent, TokenEvent
from maaskit_server.generation.sampling import SampledToken
from maaskit_server.protocols.openai import chat, completions
from maaskit_server.protocols.openai._format import ChunkEncoder, sse

TEXTS = ["plain", ' "quoted" \\ back', "line\nbreak\ttab\u0001", "café ☃ 𝄞", "", "</script>"]


@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("text", TEXTS)
def test_templated_chunks_are_the_bytes_of_the_whole_dict(include_usage: bool, text: str) -> None:
    base = {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m\u00e9"}
    encoder = ChunkEncoder(base, include_usage)
    templated = encoder.text(3, b',"text":', text, b',"logprobs":null,"finish_reason":null}]')
    choice = {"index": 3, "text": text, "logprobs": None, "finish_reason": None}
    whole = {**base, "choices": [choice], **({"usage": None} if include_usage else {})}
    assert templated == sse(whole)
    assert encoder.choice(choice) == sse(whole)


class _Run:
    """A run whose events arrive as given batches (as if the stream had fallen behind)."""

    def __init__(self, batches: list[list[Any]]) -> None:
        self._batches = batches
        self.choice_count = 1
        self.prompt_tokens = 3
        self.cancelled = False

    async def batches(self) -> AsyncIterator[list[Any]]:
        for batch in self._batches:
            yield batch

    def cancel(self) -> None:
        self.cancelled = True


def _events() -> list[list[Any]]:
    token = SampledToken(token_id=1, logprob=0.0)
    late = [TokenEvent(0, "a", token), TokenEvent(0, "b", token), TokenEvent(0, "c", token)]
    return [late, [FinishEvent(0, "length", "", 3)]]


def _split(body: list[bytes]) -> list[str]:
    return [e.removeprefix("data: ") for e in b"".join(body).decode().split("\n\n") if e]


def _without_ids(events: list[str]) -> list[Any]:
    """The events with each stream's own id and timestamp left out."""
    parsed: list[Any] = [json.loads(e) if e.startswith("{") else e for e in events]
    return [{k: v for k, v in e.items() if k not in ("id", "created")} for e in parsed[:-1]] + [
        parsed[-1]
    ]


@pytest.mark.parametrize("route", ["completions", "chat"])
async def test_events_that_arrived_together_are_written_together(route: str) -> None:
    runtime: Any = SimpleNamespace(token_text=None)

    run: Any = _Run(_events())
    if route == "completions":
        stream = completions._stream(run, runtime, "m", False, True, [""])
    else:
        stream = chat._stream(run, runtime, "m", False, True)
    together = [chunk async for chunk in stream]
    assert run.cancelled
    # The three late tokens went out in one write: the first write after the role chunk.
    writes = [chunk for chunk in together if b'"role"' not in chunk]
    assert writes[0].count(b"\n\n") == 3
    events = _split(together)
    assert events[-1] == "[DONE]"
    texts = [
        (c["choices"][0].get("text") or c["choices"][0].get("delta", {}).get("content"))
        for c in map(json.loads, events[:-1])
        if c["choices"]
    ]
    assert "".join(t for t in texts if t) == "abc"
    assert json.loads(events[-2])["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("route", ["completions", "chat"])
async def test_a_stream_ends_in_one_write(route: str, include_usage: bool) -> None:
    """The last events, the usage chunk and [DONE] together: each write wakes the client."""
    runtime: Any = SimpleNamespace(token_text=None)
    run: Any = _Run(_events())
    if route == "completions":
        stream = completions._stream(run, runtime, "m", False, include_usage, [""])
    else:
        stream = chat._stream(run, runtime, "m", False, include_usage)
    writes = [chunk async for chunk in stream]
    last = _split([writes[-1]])
    assert last[-1] == "[DONE]"
    finish = json.loads(last[0])
    assert finish["choices"][0]["finish_reason"] == "length"
    if include_usage:
        assert json.loads(last[1])["usage"]["completion_tokens"] == 3
    assert len(last) == (3 if include_usage else 2)
    # Nothing but the late tokens' write comes between the role chunk and the last write.
    assert len([chunk for chunk in writes if b'"role"' not in chunk]) == 2
