"""Restoring placeholders in a streamed answer, whatever the chunk boundaries."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from maaskit.privacy import Masker, MaskSession

from .helpers import sentence_with


def _session() -> tuple[MaskSession, str, str]:
    session = Masker().session()
    original = sentence_with() + " Literal <EMAIL_1> and a stray < sign, <EMAIL_"
    return session, original, session.mask(original)


def _stream(session: MaskSession, chunks: list[str]) -> tuple[str, list[str]]:
    restorer = session.stream_restorer()
    shown = [restorer.feed(chunk) for chunk in chunks]
    shown.append(restorer.flush())
    return "".join(shown), shown


def test_every_single_split_position_restores_exactly() -> None:
    session, original, masked = _session()
    for cut in range(len(masked) + 1):
        joined, _ = _stream(session, [masked[:cut], masked[cut:]])
        assert joined == original, cut


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_chunking_restores_exactly(data: st.DataObject) -> None:
    session, original, masked = _session()
    cuts = sorted(data.draw(st.sets(st.integers(0, len(masked)), max_size=40)))
    bounds = [0, *cuts, len(masked)]
    chunks = [masked[a:b] for a, b in itertools.pairwise(bounds)]
    joined, _ = _stream(session, chunks)
    assert joined == original


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab <>_EMAIL1"), max_size=40), st.data())
def test_arbitrary_text_around_placeholders(noise: str, data: st.DataObject) -> None:
    session = Masker().session()
    session.mask("ada@example.org and bob@example.org")
    answer = f"{noise}<EMAIL_1>{noise}<EMAIL_2>{noise}"
    cuts = sorted(data.draw(st.sets(st.integers(0, len(answer)), max_size=12)))
    bounds = [0, *cuts, len(answer)]
    joined, _ = _stream(session, [answer[a:b] for a, b in itertools.pairwise(bounds)])
    assert joined == session.restore(answer)


def test_only_a_possible_placeholder_prefix_is_held_back() -> None:
    session = Masker().session()
    session.mask("ada@example.org")
    restorer = session.stream_restorer()
    assert restorer.feed("Write to <EM") == "Write to "  # could still be <EMAIL_1>
    assert restorer.feed("AIL_1> now. a < b, <X") == "ada@example.org now. a < b, <X"
    assert restorer.feed(" <EMAIL_2") == " <EMAIL_2"  # not a prefix of anything issued
    assert restorer.feed(" <") == " "
    assert restorer.flush() == "<"


def test_text_without_angle_brackets_passes_straight_through() -> None:
    session = Masker().session()
    session.mask("ada@example.org")
    restorer = session.stream_restorer()
    assert [restorer.feed(c) for c in ["Hello", ", ", "world"]] == ["Hello", ", ", "world"]
