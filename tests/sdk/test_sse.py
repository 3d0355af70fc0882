"""The SSE parser and the OpenAI stream decoder, on plain bytes (no HTTP)."""

from __future__ import annotations

import maaskit
import pytest
from maaskit._sse import SSEParser
from maaskit._tasks import CHAT
from maaskit.providers import OpenAIProvider


def events_of(raw: bytes, split: int | None = None) -> list[tuple[str, str]]:
    parser = SSEParser()
    events = []
    step = split or len(raw) or 1
    for start in range(0, len(raw), step):
        events += parser.feed(raw[start : start + step])
    events += parser.flush()
    return [(e.event, e.data) for e in events]


RAW = (
    b": a comment line\n"
    b"data: one\r\n\r\n"
    b"event: update\rdata: two\r\r"
    b"data: first line\ndata: second line\n\n"
    b"data:no-space\n\n"
    b"id: 7\nretry: 1000\ndata: caf\xc3\xa9\n\n"
)
EXPECTED = [
    ("message", "one"),
    ("update", "two"),
    ("message", "first line\nsecond line"),
    ("message", "no-space"),
    ("message", "café"),
]


def test_parses_crlf_cr_lf_comments_and_multiline_data() -> None:
    assert events_of(RAW) == EXPECTED


@pytest.mark.parametrize("split", [1, 2, 3, 5, 7])
def test_any_split_gives_the_same_events(split: int) -> None:
    # Splits fall inside CRLF pairs and inside the two bytes of "é".
    assert events_of(RAW, split) == EXPECTED


def test_crlf_split_between_cr_and_lf_is_one_line_break() -> None:
    parser = SSEParser()
    events = parser.feed(b"data: a\r") + parser.feed(b"\n\r") + parser.feed(b"\ndata: b\n\n")
    assert [e.data for e in events] == ["a", "b"]


def test_comment_only_stream_has_no_events() -> None:
    assert events_of(b": ping\n\n: ping\n\n") == []


def test_last_event_without_blank_line_is_dispatched_at_end() -> None:
    assert events_of(b"data: one\n\ndata: tail") == [("message", "one"), ("message", "tail")]


def chat_decoder() -> maaskit.providers.StreamDecoder[maaskit.ChatChunk]:
    return OpenAIProvider().stream_decoder(CHAT)


def test_decoder_stops_at_done_and_ignores_what_follows() -> None:
    decoder = chat_decoder()
    chunks = decoder.feed(
        b'data: {"choices":[{"delta":{"role":"assistant","content":"a"}}]}\n\n'
        b"data: [DONE]\n\n"
        b'data: {"choices":[{"delta":{"content":"late"}}]}\n\n'
    )
    assert [c.text for c in chunks] == ["a"]
    assert chunks[0].role == "assistant"
    assert decoder.done
    assert decoder.close() == []


def test_decoder_without_done_delivers_everything() -> None:
    decoder = chat_decoder()
    chunks = decoder.feed(b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n')
    chunks += decoder.close()
    assert [c.text for c in chunks] == ["a"]
    assert not decoder.done


def test_decoder_defers_an_error_event_until_earlier_chunks_are_out() -> None:
    decoder = chat_decoder()
    chunks = decoder.feed(
        b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n'
        b'data: {"error":{"message":"rate limited","code":429}}\n\n'
    )
    assert [c.text for c in chunks] == ["a"]
    with pytest.raises(maaskit.RateLimitError) as caught:
        decoder.raise_deferred()
    assert caught.value.status_code == 429
    assert caught.value.provider_message == "rate limited"


@pytest.mark.parametrize(
    ("event", "error_type", "status"),
    [
        (b'{"error":{"message":"boom","type":"server_error"}}', maaskit.ServerError, 500),
        (b'{"error":"plain string error"}', maaskit.ServerError, 500),
        (b'{"error":{"message":"bad","code":400}}', maaskit.BadRequestError, 400),
    ],
)
def test_error_event_shapes(event: bytes, error_type: type[Exception], status: int) -> None:
    decoder = chat_decoder()
    assert decoder.feed(b"data: " + event + b"\n\n") == []
    with pytest.raises(error_type) as caught:
        decoder.raise_deferred()
    assert isinstance(caught.value, maaskit.APIStatusError)
    assert caught.value.status_code == status


def test_invalid_json_event_is_a_validation_error() -> None:
    decoder = chat_decoder()
    with pytest.raises(maaskit.ResponseValidationError):
        decoder.feed(b"data: {not json\n\n")


def test_truncated_last_event_is_a_validation_error_not_silence() -> None:
    decoder = chat_decoder()
    decoder.feed(b'data: {"choices":[{"delta":')
    with pytest.raises(maaskit.ResponseValidationError):
        decoder.close()
