"""Client(privacy=...) end to end: the reference server echoes the prompt it received
(``echo=True`` on completions), so the test sees exactly what left the process."""

from __future__ import annotations

import json
from typing import Any

import httpx
import maaskit
import pytest
import respx
from _support.server import ServerProcess
from maaskit.privacy import Masker

from .helpers import SENSITIVE_VALUES, check_masked_roundtrip, sentence_with

MODEL = "tiny-shakespeare"


def test_every_kind_is_masked_before_sending_and_restored_sync(
    reference_server: ServerProcess,
) -> None:
    with maaskit.Client(
        base_url=reference_server.v1, api_key=reference_server.api_key, privacy=Masker()
    ) as client:

        def send(text: str) -> tuple[str, str]:
            result = client.complete(model=MODEL, prompt=text, echo=True, max_tokens=1)
            received = result.raw["choices"][0]["text"]  # what the server echoed
            assert result.text.startswith(text)
            return received, result.text[: len(text)]

        check_masked_roundtrip(send)


async def test_every_kind_is_masked_before_sending_and_restored_async(
    reference_server: ServerProcess,
) -> None:
    async with maaskit.AsyncClient(
        base_url=reference_server.v1, api_key=reference_server.api_key, privacy=Masker()
    ) as client:
        text = sentence_with()
        result = await client.complete(model=MODEL, prompt=text, echo=True, max_tokens=1)
    received = result.raw["choices"][0]["text"]
    for kind, value in SENSITIVE_VALUES.items():
        assert value not in received
        assert f"<{kind}_1>" in received
    assert result.text.startswith(text)


def test_embedding_inputs_are_masked_and_a_call_can_turn_masking_off(
    reference_server: ServerProcess,
) -> None:
    text = "Write to ada.lovelace@example.org today"
    masker = Masker()
    with maaskit.Client(
        base_url=reference_server.v1, api_key=reference_server.api_key, privacy=masker
    ) as client:
        masked = client.embed(model="all-minilm-l6-v2", input=[text]).vectors[0]
        plain = client.embed(model="all-minilm-l6-v2", input=[text], privacy=False).vectors[0]
        expected = client.embed(
            model="all-minilm-l6-v2", input=["Write to <EMAIL_1> today"], privacy=False
        ).vectors[0]
    assert masked == pytest.approx(expected, abs=1e-6)  # the server embedded the masked text
    assert plain != pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("split", range(1, 12))
def test_a_streamed_placeholder_split_anywhere_is_restored(
    respx_mock: respx.MockRouter, split: int
) -> None:
    answer = "Reply to <EMAIL_1> soon."
    parts = [answer[: split + 5], answer[split + 5 :]]
    events: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {"content": part}, "finish_reason": None}]}
        for part in parts
    ]
    events[-1]["choices"][0]["finish_reason"] = "stop"
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    route = respx_mock.post("http://privacy.test/v1/chat/completions").mock(
        return_value=httpx.Response(
            200, content=body.encode(), headers={"content-type": "text/event-stream"}
        )
    )
    with maaskit.Client(base_url="http://privacy.test/v1", privacy=Masker()) as client:
        messages = [{"role": "user", "content": "Mail ada.lovelace@example.org please"}]
        with client.chat(model="m", messages=messages, stream=True) as stream:
            texts = [chunk.text for chunk in stream]

    sent = json.loads(route.calls[0].request.content)
    assert sent["messages"][0]["content"] == "Mail <EMAIL_1> please"
    assert "".join(texts) == "Reply to ada.lovelace@example.org soon."
    assert stream.text == "Reply to ada.lovelace@example.org soon."


def test_a_chat_answer_is_restored_and_redact_mode_is_not(respx_mock: respx.MockRouter) -> None:
    reply = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi <EMAIL_1>"}}]}
    respx_mock.post("http://privacy.test/v1/chat/completions").respond(200, json=reply)
    messages = [{"role": "user", "content": "I am ada.lovelace@example.org"}]
    with maaskit.Client(base_url="http://privacy.test/v1", privacy=Masker()) as client:
        assert client.chat(model="m", messages=messages).text == "Hi ada.lovelace@example.org"
        redacted = client.chat(model="m", messages=messages, privacy=Masker(mode="redact"))
    assert redacted.text == "Hi <EMAIL_1>"
    with pytest.raises(TypeError, match="privacy must be"):
        maaskit.Client(base_url="http://privacy.test/v1", privacy="yes")
