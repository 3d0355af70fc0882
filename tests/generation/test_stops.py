from __future__ import annotations

from maaskit_server.generation.stops import StopCheck, StopMatcher


def _run(stops: tuple[str, ...], pieces: list[str]) -> tuple[str, bool, str]:
    matcher = StopMatcher(stops)
    emitted = ""
    for piece in pieces:
        check = matcher.feed(piece)
        emitted += check.text
        if check.stopped:
            return emitted, True, matcher.held
    return emitted, False, matcher.held


def test_a_stop_string_split_across_tokens_ends_the_text_before_it() -> None:
    assert _run(("\n\n",), ["Hello", "\n", "\nWorld"]) == ("Hello", True, "")
    assert _run(("END",), ["the E", "N", "D of it"]) == ("the ", True, "")


def test_partial_matches_are_held_back_then_released() -> None:
    matcher = StopMatcher(("STOP",))
    assert matcher.feed("go ST").text == "go "
    assert matcher.held == "ST"
    check = matcher.feed("ay")
    assert (check.text, check.stopped) == ("STay", False)
    assert matcher.held == ""


def test_held_text_is_flushed_when_generation_ends_otherwise() -> None:
    matcher = StopMatcher(("STOP",))
    assert matcher.feed("abc STO").text == "abc "
    assert matcher.flush() == "STO"
    assert matcher.flush() == ""


def test_earliest_of_several_stops_wins() -> None:
    assert _run(("b", "a"), ["xxab"]) == ("xx", True, "")
    assert _run(("world", "lo w"), ["hello", " world"]) == ("hel", True, "")


def test_no_stops_passes_everything_through() -> None:
    assert _run((), ["a", "b\n"]) == ("ab\n", False, "")


def test_overlapping_prefix_holds_the_longest_candidate() -> None:
    matcher = StopMatcher(("aab",))
    assert matcher.feed("xaa").text == "x"
    assert matcher.held == "aa"
    assert matcher.feed("a").text == "a"  # "aaa": the last "aa" may still start "aab"
    assert matcher.held == "aa"
    check = matcher.feed("b!")
    assert (check.text, check.stopped) == ("", True)


def test_the_matched_stop_string_is_reported_earliest_then_longest() -> None:
    assert StopMatcher(("b", "a")).feed("xxab").matched == "a"
    assert StopMatcher(("ab", "abc")).feed("xxabcd").matched == "abc"
    matcher = StopMatcher(("END",))
    assert matcher.feed("the E").matched == ""
    check = matcher.feed("ND")
    assert (check.text, check.stopped, check.matched) == ("", True, "END")


def test_a_disarmed_matcher_matches_nothing_but_a_stop_reaching_into_armed_text_counts() -> None:
    matcher = StopMatcher(("STOP",))
    check = matcher.feed("go STOP ST", armed=False)
    assert (check.text, check.stopped, matcher.held) == ("go STOP ", False, "ST")
    armed = matcher.feed("OP now")
    assert (armed.text, armed.stopped) == ("", True)


def test_active_only_with_a_non_empty_stop_string() -> None:
    # The engine skips feed() when inactive, so inactive must mean feed() changes nothing.
    assert not StopMatcher(()).active
    assert not StopMatcher(("",)).active
    assert StopMatcher(("", "END")).active
    inactive = StopMatcher(("",))
    assert inactive.feed("text with END", armed=True) == StopCheck("text with END", stopped=False)
