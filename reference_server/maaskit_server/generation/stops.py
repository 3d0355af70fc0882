"""Stop strings matched on the decoded text, across token boundaries.

Text that could still be the start of a stop string is held back until the next token proves
it is not; a matched stop string and everything after it are never emitted.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StopCheck:
    text: str  # safe to emit now
    stopped: bool  # a stop string matched; generation must end


class StopMatcher:
    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._held = ""

    @property
    def held(self) -> str:
        return self._held

    def feed(self, new_text: str) -> StopCheck:
        if not self._stops:
            return StopCheck(new_text, stopped=False)
        buffer = self._held + new_text
        first = _first_match(buffer, self._stops)
        if first is not None:
            self._held = ""
            return StopCheck(buffer[:first], stopped=True)
        hold = _longest_partial_suffix(buffer, self._stops)
        self._held = buffer[len(buffer) - hold :] if hold else ""
        return StopCheck(buffer[: len(buffer) - hold], stopped=False)

    def flush(self) -> str:
        """The held-back text, released when generation ends for another reason."""
        held, self._held = self._held, ""
        return held


def _first_match(text: str, stops: tuple[str, ...]) -> int | None:
    positions = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(positions) if positions else None


def _longest_partial_suffix(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of some stop string."""
    best = 0
    for stop in stops:
        for length in range(min(len(stop) - 1, len(text)), best, -1):
            if text.endswith(stop[:length]):
                best = length
                break
    return best
