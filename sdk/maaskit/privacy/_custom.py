"""Detectors the application defines: a regex with a kind, or any callable."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from ._detection import Detection, check_kind

__all__ = ["RegexDetector"]


class RegexDetector:
    """Every match of ``pattern`` is data of ``kind``.

    Parameters:
        pattern: a regular expression (a string or a compiled pattern).
        kind: the upper-case kind, e.g. ``"EMPLOYEE_ID"``; placeholders read ``<EMPLOYEE_ID_1>``.
        group: the group whose span is masked (default 0, the whole match), so context such as
            a keyword can be matched without being masked.
        validate: an optional check of the matched text; a match it returns False for is kept.
        flags: regex flags when ``pattern`` is a string.
    """

    def __init__(
        self,
        pattern: str | re.Pattern[str],
        kind: str,
        *,
        group: int | str = 0,
        validate: Callable[[str], bool] | None = None,
        flags: int = 0,
    ) -> None:
        self.pattern = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
        self.kind = check_kind(kind)
        self.group = group
        self.validate = validate

    def __call__(self, text: str) -> Iterator[Detection]:
        for match in self.pattern.finditer(text):
            start, end = match.span(self.group)
            if start >= end:
                continue
            if self.validate is not None and not self.validate(text[start:end]):
                continue
            yield Detection(start, end, self.kind)

    def __repr__(self) -> str:
        return f"RegexDetector(kind={self.kind!r})"
