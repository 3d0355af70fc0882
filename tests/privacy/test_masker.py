"""The masking session: placeholders, restore, escaping, overlaps, modes and secrecy."""

from __future__ import annotations

import logging
import pickle

import pytest
from maaskit.privacy import (
    Detection,
    DetectorError,
    EmailDetector,
    Masker,
    RegexDetector,
    SecretDetector,
)

from .helpers import SENSITIVE_VALUES, check_masked_roundtrip, sentence_with


@pytest.mark.parametrize(("kind", "value"), SENSITIVE_VALUES.items())
def test_each_kind_is_masked_and_restored(kind: str, value: str) -> None:
    session = Masker().session()
    text = f"Please note: {value} (thanks)"
    masked = session.mask(text)
    assert value not in masked
    assert masked == f"Please note: <{kind}_1> (thanks)"
    assert session.restore(masked) == text


async def test_async_mask_matches_sync() -> None:
    masker = Masker()
    text = sentence_with()
    sync_session, async_session = masker.session(), masker.session()
    assert await async_session.amask(text) == sync_session.mask(text)
    assert async_session.restore(await async_session.amask(text)) == text


def test_roundtrip_helper_with_an_in_memory_echo() -> None:
    # The same helper the client-wiring tests use against a real server.
    session = Masker().session()

    def send(text: str) -> tuple[str, str]:
        received = session.mask(text)
        echoed = received  # an echo server answers what it received
        return received, session.restore(echoed)

    check_masked_roundtrip(send)


def test_one_value_one_placeholder_within_a_session() -> None:
    session = Masker().session()
    first = session.mask("Mail a@example.com, then b@example.com.")
    second = session.mask("Again: b@example.com and a@example.com")
    assert first == "Mail <EMAIL_1>, then <EMAIL_2>."
    assert second == "Again: <EMAIL_2> and <EMAIL_1>"
    assert len(session) == 2


def test_model_echo_in_other_words_is_restored() -> None:
    session = Masker().session()
    session.mask("Contact ada@example.org or 4111111111111111")
    answer = "Sure! I will write to <EMAIL_1> and never charge <CARD_1>; <EMAIL_1> again."
    assert session.restore(answer) == (
        "Sure! I will write to ada@example.org and never charge 4111111111111111; "
        "ada@example.org again."
    )


def test_existing_placeholder_text_is_escaped_not_restored_into_data() -> None:
    session = Masker().session()
    text = "The template says <EMAIL_1>; the real one is ada@example.org."
    masked = session.mask(text)
    assert masked == "The template says <PLACEHOLDER_1>; the real one is <EMAIL_1>."
    # The model repeats both: the literal stays literal, the placeholder becomes the value.
    assert session.restore("<PLACEHOLDER_1> vs <EMAIL_1>") == "<EMAIL_1> vs ada@example.org"
    assert session.restore(masked) == text


def test_unknown_placeholders_are_left_alone() -> None:
    session = Masker().session()
    session.mask("ada@example.org")
    assert session.restore("<EMAIL_2> <PHONE_1> <email_1>") == "<EMAIL_2> <PHONE_1> <email_1>"


def test_a_value_that_looks_like_a_placeholder_is_not_restored_twice() -> None:
    session = Masker(detectors=[RegexDetector(r"\[\[(.+?)\]\]", "QUOTE", group=1)]).session()
    masked = session.mask("[[<PLACEHOLDER_1>]] and [[x]]")
    # The escaped literal and the custom detection overlap at the same start: escape wins.
    assert session.restore(masked) == "[[<PLACEHOLDER_1>]] and [[x]]"


def test_email_in_url_credentials_resolves_to_one_span() -> None:
    masker = Masker()
    text = "postgres://ada:s3cretpass@db.example.com:5432/app"
    detections = masker.detect(text)
    assert [(d.kind, text[d.start : d.end]) for d in detections] == [("SECRET", "ada:s3cretpass")]
    # ... and the e-mail-shaped tail "s3cretpass@db.example.com" was not cut out of it.
    assert masker.session().mask(text) == "postgres://<SECRET_1>@db.example.com:5432/app"


def test_overlaps_resolve_the_same_whatever_the_detector_order() -> None:
    text = "id AB-123456-XY end"
    wide = RegexDetector(r"AB-\d+-XY", "WIDE")
    narrow = RegexDetector(r"\d+", "NARROW")
    late = RegexDetector(r"\d+-XY", "LATE")
    for detectors in ([wide, narrow, late], [late, narrow, wide], [narrow, late, wide]):
        found = Masker(detectors=detectors).detect(text)
        assert [(d.start, d.end, d.kind) for d in found] == [(3, 15, "WIDE")]
    # Same span from two detectors: the earlier detector in the list wins.
    first, second = RegexDetector(r"\d+", "FIRST"), RegexDetector(r"\d+", "SECOND")
    assert Masker(detectors=[first, second]).detect("x 42")[0].kind == "FIRST"
    assert Masker(detectors=[second, first]).detect("x 42")[0].kind == "SECOND"


def test_redact_mode_never_restores() -> None:
    session = Masker(mode="redact").session()
    masked = session.mask("ada@example.org called 4111 1111 1111 1111, see <EMAIL_1>")
    assert masked == "<EMAIL> called <CARD>, see <EMAIL_1>"
    assert not session.restores
    assert session.restore(masked) == masked


def test_pseudonymise_is_stable_across_sessions_with_one_key() -> None:
    one, two = Masker(mode="pseudonymise", key="k1"), Masker(mode="pseudonymise", key="k1")
    other = Masker(mode="pseudonymise", key="k2")
    text = "ada@example.org"
    a, b, c = one.session().mask(text), two.session().mask(text), other.session().mask(text)
    assert a == b != c
    assert a.startswith("<EMAIL_")
    assert text not in a
    session = one.session()
    assert session.restore(session.mask(f"hi {text}")) == f"hi {text}"


def test_custom_detectors_regex_and_callable() -> None:
    def employee_ids(text: str) -> list[tuple[int, int, str]]:
        at = text.find("EMP")
        return [(at, at + 9, "EMPLOYEE_ID")] if at != -1 else []

    masker = Masker(
        extra_detectors=[
            employee_ids,
            RegexDetector(r"case (\d{5})", "CASE", group=1, validate=lambda v: v != "00000"),
        ]
    )
    session = masker.session()
    masked = session.mask("EMP004211 owns case 12345 and case 00000")
    assert masked == "<EMPLOYEE_ID_1> owns case <CASE_1> and case 00000"


def test_kinds_filter() -> None:
    session = Masker(kinds=["EMAIL"]).session()
    assert session.mask("ada@example.org 4111111111111111") == "<EMAIL_1> 4111111111111111"


def test_no_value_in_reprs_logs_or_pickles(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    masker = Masker(mode="pseudonymise", key="top-secret-key")
    session = masker.session()
    session.mask(sentence_with())
    restorer = session.stream_restorer()
    restorer.feed("x <EMA")
    shown = " ".join([repr(masker), repr(session), repr(restorer), str(vars(masker))])
    for value in [*SENSITIVE_VALUES.values(), "top-secret-key"]:
        assert value not in shown
        assert value not in caplog.text
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(session)


def test_a_failing_detector_fails_closed_without_quoting_the_text() -> None:
    def broken(text: str) -> list[Detection]:
        raise RuntimeError(f"could not parse {text!r}")

    session = Masker(extra_detectors=[broken]).session()
    with pytest.raises(DetectorError) as caught:
        session.mask("ada@example.org")
    assert "ada@example.org" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert "broken" in str(caught.value)


@pytest.mark.parametrize(
    "bad",
    [[(5, 2, "EMAIL")], [(0, 99, "EMAIL")], [(0, 1, "lower")], [Detection(-1, 1, "X")]],
)
def test_bad_detections_are_typed_errors(bad: list[Detection | tuple[int, int, str]]) -> None:
    session = Masker(detectors=[lambda text: bad]).session()
    with pytest.raises(DetectorError, match=r"span|kind"):
        session.mask("hello world")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mode"):
        Masker(mode="hide")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        Masker(detectors=["EMAIL"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="kind"):
        RegexDetector("x", "email")
    with pytest.raises(TypeError, match="str"):
        Masker().session().mask(b"bytes")  # type: ignore[arg-type]


def test_builtin_detectors_are_independent_of_each_other() -> None:
    assert Masker(detectors=[EmailDetector()]).detect("sk-proj-aaaaaaaaaaaaaaaaaaaaaaaa") == []
    assert len(Masker(detectors=[SecretDetector()]).detect("sk-proj-aaaaaaaaaaaaaaaaaaaaaaaa")) == 1
