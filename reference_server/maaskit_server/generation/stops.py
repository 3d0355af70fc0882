"""Stop strings matched on the decoded text, across token boundaries.

Text that could still be the start of a stop string is held back until the next token proves
it is not; a matched stop string and everything after it are never emitted. As in vLLM, the
text of a sequence's first ``min_tokens`` tokens is not searched (``armed=False``): a stop
string wholly inside it does not end the sequence.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StopCheck:
    text: str  # safe to emit now
    stopped: bool  # a stop string matched; generation must end
    matched: str = ""  # the stop string that matched (TGI puts it in the text, OpenAI does not)


class StopMatcher:
    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._held = ""

    @property
    def active(self) -> bool:
        """False without stop strings: :meth:`feed` would pass every text through unchanged."""
        return bool(self._stops)

    @property
    def held(self) -> str:
        return self._held

    def feed(self, new_text: str, *, armed: bool = True) -> StopCheck:
        if not self._stops:
            return StopCheck(new_text, stopped=False)
        buffer = self._held + new_text
        # Disarmed, nothing matches, but a possible beginning is still held back: a stop string
        # that starts in the last unsearched text and ends in searched text counts (vLLM's
        # search window reaches len(stop) - 1 characters back).
        first = _first_match(buffer, self._stops) if armed else None
        if first is not None:
            self._held = ""
            position, stop = first
            return StopCheck(buffer[:position], stopped=True, matched=stop)
        hold = _longest_partial_suffix(buffer, self._stops)
        self._held = buffer[len(buffer) - hold :] if hold else ""
        return StopCheck(buffer[: len(buffer) - hold], stopped=False)

    def flush(self) -> str:
        """The held-back text, released when generation ends for another reason."""
        held, self._held = self._held, ""
        return held


def _first_match(text: str, stops: tuple[str, ...]) -> tuple[int, str] | None:
    """The earliest stop string in ``text`` and where it starts (the longest, on a tie)."""
    found = [(text.find(stop), -len(stop), stop) for stop in stops]
    matches = sorted(match for match in found if match[0] >= 0)
    return (matches[0][0], matches[0][2]) if matches else None


def _longest_partial_suffix(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of some stop string."""
    best = 0
    for stop in stops:
        for length in range(min(len(stop) - 1, len(text)), best, -1):
            if text.endswith(stop[:length]):
                best = length
                break
    return best
