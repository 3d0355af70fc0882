"""``n=2``: every choice is kept, streamed or not (defect 1 of issue #16: an ``n=2`` stream
was merged into one text, ``'AAABBB'``, because the decoder read ``choices[0]`` only)."""

from __future__ import annotations

import json

import maaskit
import openai.types
import openai.types.chat
import pytest
import respx
from maaskit.privacy import Masker

from . import _openai_shapes as shapes
from ._streams import final_of
from .conftest import BASE_URL, Harness

MESSAGES = [{"role": "user", "content": "Say A or B"}]


def two_choice_chat_events() -> list[dict[str, object]]:
    # Both choices in each event, as vLLM sends them; OpenAI sends one choice per event,
    # which the next test covers.
    return [
        shapes.chunk(shapes.delta(0, role="assistant"), shapes.delta(1, role="assistant")),
        shapes.chunk(shapes.delta(0, content="AA"), shapes.delta(1, content="BB")),
        shapes.chunk(shapes.delta(0, content="A"), shapes.delta(1, content="B")),
        shapes.chunk(
            shapes.delta(0, finish_reason="stop"), shapes.delta(1, finish_reason="length")
        ),
        shapes.chunk(usage=shapes.USAGE),
    ]


def test_fixtures_are_openai_shapes() -> None:
    for event in two_choice_chat_events():
        openai.types.chat.ChatCompletionChunk.model_validate(event)


async def test_a_two_choice_stream_keeps_each_choice(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(
        200, content=shapes.sse_of(two_choice_chat_events())
    )
    client = harness.client()

    stream = await harness.call(client.chat, model="m", messages=MESSAGES, n=2, stream=True)
    chunks = await harness.collect(stream)

    assert [(c.index, c.text) for c in chunks if c.text] == [
        (0, "AA"),
        (1, "BB"),
        (0, "A"),
        (1, "B"),
    ]
    assert stream.texts == ["AAA", "BBB"]
    assert stream.text == "AAA"
    assert [(c.index, c.finish_reason) for c in chunks if c.finish_reason] == [
        (0, "stop"),
        (1, "length"),
    ]


async def test_one_choice_per_event_streams_join_by_index(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    events = [
        shapes.chunk(shapes.delta(1, content="B")),
        shapes.chunk(shapes.delta(0, content="A")),
        shapes.chunk(shapes.delta(1, content="b", finish_reason="stop")),
        shapes.chunk(shapes.delta(0, content="a", finish_reason="stop")),
    ]
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, content=shapes.sse_of(events))
    client = harness.client()

    stream = await harness.call(client.chat, model="m", messages=MESSAGES, n=2, stream=True)
    final = await final_of(stream)

    assert stream.texts == ["Aa", "Bb"]
    assert final.texts == ["Aa", "Bb"]
    assert [c.index for c in final.choices] == [0, 1]


async def test_a_two_choice_completion_stream_keeps_each_choice(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    def event(*choices: dict[str, object]) -> dict[str, object]:
        body = shapes.text_completion(*choices)
        del body["usage"]
        return body

    events = [
        event(shapes.text_choice("AA", 0, None), shapes.text_choice("BB", 1, None)),
        event(shapes.text_choice("A", 0, "stop"), shapes.text_choice("B", 1, "stop")),
    ]
    # openai types a finish_reason as required; streams send null until the last event.
    openai.types.Completion.model_validate(events[-1])
    respx_mock.post(f"{BASE_URL}/completions").respond(200, content=shapes.sse_of(events))
    client = harness.client()

    stream = await harness.call(client.complete, model="m", prompt="p", n=2, stream=True)
    chunks = await harness.collect(stream)

    assert [(c.index, c.text) for c in chunks] == [(0, "AA"), (1, "BB"), (0, "A"), (1, "B")]
    assert stream.texts == ["AAA", "BBB"]


async def test_a_non_streamed_n2_answer_keeps_every_choice(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    body = shapes.chat_completion(
        shapes.completion_message({"role": "assistant", "content": "AAA"}, "stop", index=0),
        shapes.completion_message({"role": "assistant", "content": "BBB"}, "length", index=1),
    )
    openai.types.chat.ChatCompletion.model_validate(body)
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=body)
    client = harness.client()

    answer = await harness.call(client.chat, model="m", messages=MESSAGES, n=2)

    assert answer.texts == ["AAA", "BBB"]
    assert [c.finish_reason for c in answer.choices] == ["stop", "length"]
    assert answer.system_fingerprint == shapes.FINGERPRINT
    assert json.loads(route.calls.last.request.content)["n"] == 2


@pytest.mark.parametrize("n", [0, -1])
async def test_n_below_one_is_refused_before_sending(
    harness: Harness, respx_mock: respx.MockRouter, n: int
) -> None:
    client = harness.client()
    with pytest.raises(maaskit.InvalidRequestError, match="n must be >= 1"):
        await harness.call(client.chat, model="m", messages=MESSAGES, n=n)
    assert respx_mock.calls.call_count == 0


async def test_masked_n2_stream_restores_each_choice_on_its_own(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    email = "ada.lovelace@example.org"
    session = Masker().session()
    client = harness.client(privacy=session)
    ask = [{"role": "user", "content": f"Write to {email}"}]
    # Each choice splits the placeholder, and their pieces interleave.
    events = [
        shapes.chunk(shapes.delta(0, content="To <EMA")),
        shapes.chunk(shapes.delta(1, content="Mail <EM")),
        shapes.chunk(shapes.delta(0, content="IL_1>.", finish_reason="stop")),
        shapes.chunk(shapes.delta(1, content="AIL_1>!", finish_reason="stop")),
    ]
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, content=shapes.sse_of(events))

    stream = await harness.call(client.chat, model="m", messages=ask, n=2, stream=True)
    await harness.collect(stream)

    assert stream.texts == [f"To {email}.", f"Mail {email}!"]
