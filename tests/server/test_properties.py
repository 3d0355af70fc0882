"""Property tests (hypothesis): the SDK's SSE and NDJSON decoders take any split of a stream,
the KServe binary-tensor codec round-trips and refuses garbage with a 400 only, and the fault
grammar parses what it prints and refuses everything else with its own error only."""

from __future__ import annotations

import contextlib
import json
import struct
from typing import Literal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from maaskit._sse import SSEParser
from maaskit.providers._ndjson import NDJSONParser
from maaskit_server.errors import APIError
from maaskit_server.faults import FaultSyntaxError, parse_fault
from maaskit_server.protocols.kserve._tensors import (
    NUMPY_TYPES,
    OutputTensor,
    encode_response,
    parse_infer_request,
)

FAST = settings(max_examples=60, deadline=None, database=None)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    pieces, start = [], 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    pieces.append(data[start:])
    return pieces


SURROGATES: tuple[Literal["Cs"]] = ("Cs",)  # lone surrogates cannot be encoded as UTF-8
line_text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=SURROGATES))
event_names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
events = st.lists(
    st.tuples(st.one_of(st.none(), event_names), st.lists(line_text, min_size=1, max_size=3)),
    max_size=8,
)


@FAST
@given(events, st.lists(st.integers(0, 10_000), max_size=12), st.sampled_from(["\n", "\r\n", "\r"]))
def test_sse_events_survive_any_split_and_line_ending(
    sent: list[tuple[str | None, list[str]]], cuts: list[int], newline: str
) -> None:
    wire = ""
    expected = []
    for name, lines in sent:
        data = "\n".join(lines)
        if not data:
            continue  # the spec dispatches no event without data
        if name is not None:
            wire += f"event: {name}{newline}"
        wire += "".join(f"data: {line}{newline}" for line in lines) + newline
        expected.append((name or "message", data))
    parser = SSEParser()
    received = []
    for piece in split(wire.encode("utf-8"), cuts):
        received += parser.feed(piece)
    received += parser.flush()
    assert [(event.event, event.data) for event in received] == expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@FAST
@given(
    st.lists(json_values, max_size=8), st.lists(st.integers(0, 10_000), max_size=12), st.booleans()
)
def test_ndjson_values_survive_any_split(values: list[object], cuts: list[int], crlf: bool) -> None:
    newline = b"\r\n" if crlf else b"\n"
    wire = b"".join(json.dumps(value, ensure_ascii=False).encode() + newline for value in values)
    parser = NDJSONParser()
    received = []
    for piece in split(wire, cuts):
        received += parser.feed(piece)
    received += parser.flush()
    assert received == values


numeric_types = sorted(name for name in NUMPY_TYPES if name not in ("FP16", "BOOL"))


@st.composite
def tensors(draw: st.DrawFn) -> OutputTensor:
    name = draw(st.text("abcdefgh_", min_size=1, max_size=8))
    count = draw(st.integers(0, 6))
    datatype = draw(st.sampled_from(["BYTES", *numeric_types]))
    if datatype == "BYTES":
        data: object = draw(st.lists(st.binary(max_size=20), min_size=count, max_size=count))
    else:
        dtype = np.dtype(NUMPY_TYPES[datatype])
        raw = draw(st.binary(min_size=count * dtype.itemsize, max_size=count * dtype.itemsize))
        data = np.frombuffer(raw, dtype=dtype)
    return OutputTensor(name, datatype, [count], data)  # type: ignore[arg-type]


def as_request(outputs: list[OutputTensor]) -> tuple[bytes, str]:
    """Encode tensors with the server's binary encoder, as the inputs of an infer request."""
    body, length = encode_response({}, outputs, [True] * len(outputs))
    assert length is not None
    header = json.loads(body[:length])
    header["inputs"] = header.pop("outputs")
    head = json.dumps(header).encode()
    return head + body[length:], str(len(head))


@FAST
@given(st.lists(tensors(), min_size=1, max_size=4))
def test_binary_tensors_round_trip(outputs: list[OutputTensor]) -> None:
    body, length = as_request(outputs)
    request = parse_infer_request(body, length)
    assert [t.name for t in request.inputs] == [t.name for t in outputs]
    for sent, got in zip(outputs, request.inputs, strict=True):
        assert (got.datatype, got.shape) == (sent.datatype, sent.shape)
        if isinstance(sent.data, list):
            assert got.data == sent.data
        else:
            assert np.asarray(got.data).tobytes() == sent.data.tobytes()


@FAST
@given(st.lists(tensors(), min_size=1, max_size=3), st.integers(0, 10_000), st.binary(max_size=8))
def test_a_corrupted_binary_request_is_a_400_never_a_crash(
    outputs: list[OutputTensor], position: int, noise: bytes
) -> None:
    body, length = as_request(outputs)
    cut = position % (len(body) + 1)
    for corrupted, header_length in [
        (body[:cut] + noise + body[cut:], length),
        (body[:cut], length),
        (body, str(position)),
        (body + struct.pack("<I", position), length),
    ]:
        try:
            parse_infer_request(corrupted, header_length)
        except APIError as exc:
            status = exc.status_code
        else:
            status = 200
        assert status == 200 or 400 <= status < 500


directives = st.sampled_from(
    [
        "status=503",
        "status=429; retry_after=1",
        "status=500; retry_after_ms=20",
        "latency_ms=5",
        "drip_ms=3",
        "reset=headers",
        "reset=2",
        "malformed=1",
        "truncate=3",
        "error_event=0",
        "stall=1",
    ]
)


def to_text(values: dict[str, object]) -> str:
    return "; ".join(
        "reset=headers" if name == "reset_before_headers" else f"{name}={value}"
        for name, value in values.items()
    )


@FAST
@given(directives, st.one_of(st.none(), st.integers(1, 9)), st.sampled_from(["; ", ";", " ; "]))
def test_the_fault_grammar_parses_its_own_directives(
    base: str, times: int | None, sep: str
) -> None:
    text = base if times is None else f"{base}{sep}TIMES = {times}"
    spec = parse_fault(text)
    assert spec.times == times
    assert parse_fault(to_text(spec.as_dict())) == spec


@FAST
@given(st.text(max_size=60))
def test_any_fault_text_parses_or_is_a_fault_syntax_error(text: str) -> None:
    with contextlib.suppress(FaultSyntaxError):
        parse_fault(text)
