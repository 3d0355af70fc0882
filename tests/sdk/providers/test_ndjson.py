"""The sans-I/O NDJSON line decoder, fed in awkward splits."""

from __future__ import annotations

import json
from typing import Any

import maaskit
import pytest
from maaskit.providers._ndjson import NDJSONDecoder, NDJSONParser
from maaskit.types import CompletionChunk

LINES = [{"response": "é€", "done": False}, {"response": "!", "done": True}]
BODY = b"".join(json.dumps(x, ensure_ascii=False).encode() + b"\n" for x in LINES)


def feed_all(parser: NDJSONParser, parts: list[bytes]) -> list[Any]:
    values: list[Any] = []
    for part in parts:
        values += parser.feed(part)
    return values + parser.flush()


@pytest.mark.parametrize("size", [1, 2, 3, 7, len(BODY)])
def test_any_split_gives_the_same_values(size: int) -> None:
    # Size 1 splits inside the multi-byte characters é and €.
    parts = [BODY[i : i + size] for i in range(0, len(BODY), size)]
    assert feed_all(NDJSONParser(), parts) == LINES


def test_blank_lines_crlf_and_a_last_line_without_newline() -> None:
    body = b'\n{"a": 1}\r\n\r\n   \n{"a": 2}'
    parser = NDJSONParser()
    assert parser.feed(body) == [{"a": 1}]
    assert parser.flush() == [{"a": 2}]
    assert parser.flush() == []


def test_a_line_that_is_not_json_is_a_validation_error() -> None:
    with pytest.raises(maaskit.ResponseValidationError, match="not valid JSON"):
        NDJSONParser().feed(b'{"a": 1}\n{oops\n')


def _decoder() -> NDJSONDecoder[CompletionChunk]:
    return NDJSONDecoder(
        "complete",
        lambda p: CompletionChunk(text=p["response"]),
        is_last=lambda p: bool(p.get("done")),
    )


def test_decoder_stops_at_the_last_object() -> None:
    decoder = _decoder()
    chunks = decoder.feed(BODY + b'{"response": "ignored", "done": false}\n')
    assert [c.text for c in chunks] == ["é€", "!"]
    assert decoder.done


def test_error_line_is_deferred_after_the_chunks_before_it() -> None:
    decoder = _decoder()
    chunks = decoder.feed(b'{"response": "a", "done": false}\n{"error": "model crashed"}\n')
    assert [c.text for c in chunks] == ["a"]
    assert decoder.done
    with pytest.raises(maaskit.ServerError, match="model crashed") as caught:
        decoder.raise_deferred()
    assert caught.value.provider_message == "model crashed"


def test_an_object_of_the_wrong_shape_is_a_validation_error() -> None:
    with pytest.raises(maaskit.ResponseValidationError, match="unexpected complete response"):
        _decoder().feed(b'{"done": false}\n')
