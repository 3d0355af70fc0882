"""What a detector reports, and the rule that picks one detection where several overlap."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .._exceptions import MaaSError

__all__ = [
    "KIND_PATTERN",
    "Detection",
    "Detector",
    "DetectorError",
    "PrivacyError",
    "check_kind",
    "resolve_overlaps",
]

# A kind names what was found and becomes the placeholder's prefix: ``EMAIL`` -> ``<EMAIL_1>``.
KIND_PATTERN = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z][A-Z0-9]*)*")


class PrivacyError(MaaSError):
    """Masking could not be done safely; nothing was sent."""


class DetectorError(PrivacyError):
    """A detector failed. The message names the detector and the exception type only: the
    original message may quote the text being masked, so it is not chained."""


@dataclass(frozen=True, slots=True)
class Detection:
    """One finding: ``text[start:end]`` is personal data or a secret of ``kind``.

    Holds offsets, never the value, so a detection is safe to log.

    Parameters:
        start: offset of the first character (in ``str`` code points).
        end: offset one past the last character.
        kind: upper-case name such as ``EMAIL`` or ``PERSON`` (``[A-Z][A-Z0-9_]*``).
        score: the detector's confidence in [0, 1]; rule-based detectors report 1.0.
    """

    start: int
    end: int
    kind: str
    score: float = 1.0


# A detector is any callable from text to detections. A custom callable may also yield plain
# ``(start, end, kind)`` tuples; the masker normalises them.
Detector = Callable[[str], Iterable["Detection | tuple[int, int, str]"]]


def check_kind(kind: str) -> str:
    if not isinstance(kind, str) or KIND_PATTERN.fullmatch(kind) is None:
        raise ValueError(
            f"a kind is upper-case letters, digits and '_' (like 'EMAIL'), got {kind!r}"
        )
    return kind


def resolve_overlaps(detections: Sequence[tuple[Detection, int]]) -> list[Detection]:
    """Keep a set of non-overlapping detections, deterministically.

    ``detections`` pairs each detection with the position of its detector in the masker's list.
    The rule is leftmost-longest, like a POSIX regex: the detection that starts first wins; of
    those starting together the longest; then the earlier detector; then the kind's name. A
    detection that contains another therefore always wins (an e-mail address inside a URL's
    credentials is masked as one span, never cut in two), and the result never depends on the
    order detectors happened to yield in.
    """
    ordered = sorted(
        detections, key=lambda pair: (pair[0].start, -pair[0].end, pair[1], pair[0].kind)
    )
    kept: list[Detection] = []
    reach = 0
    for detection, _ in ordered:
        if detection.start >= reach:
            kept.append(detection)
            reach = detection.end
    return kept
