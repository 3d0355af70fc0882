"""Phone numbers, validated by Google's libphonenumber metadata (the ``phonenumbers`` package,
the ``privacy`` extra).

``phonenumbers.PhoneNumberMatcher`` is exact but slow here (about 10 ms on 2 KB of
digit-rich text, measured with phonenumbers 9.0): it tries many patterns at every digit. This
detector finds candidate runs with one regex and gives only those to ``phonenumbers.parse`` and
``is_valid_number``, which keeps the validity rules (lengths and ranges per country) at a small
fraction of the cost.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

from ._detection import Detection

__all__ = ["PhoneDetector"]

_CANDIDATE = re.compile(
    # The look-ahead first lets the engine skip to a digit, "+" or "(" (half the scan time).
    r"(?=[+(\d])(?<![\w+.,/-])(?<!\d[ .\-/])"
    r"(?:(?:\+|00)\d{1,3}[ .-]?)?"  # country calling code
    r"(?:\(0?\d{1,5}\)[ .-]?)?"  # area code in brackets
    r"\d(?:[ .\-/]?\d){5,13}"
    r"(?![\w]|[.,/-]\w|[ .\-/]\d)"  # a longer digit run (a card, an IBAN) is not a phone
)
# Runs that phonenumbers may accept for some region but that a reader knows are not phones.
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
_DOTTED = re.compile(r"\d+(?:\.\d+){2,}")
_SEPARATORS = re.compile(r"[ .\-/()]+")
_CACHE_SIZE = 4096  # candidate strings whose validity is remembered, per detector


def _phonenumbers() -> Any:
    try:
        import phonenumbers
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "PhoneDetector needs the phonenumbers package: pip install 'maaskit[privacy]'"
        ) from None
    return phonenumbers


def _is_isbn(raw: str) -> bool:
    """A hyphenated ISBN-10 or ISBN-13 with a valid check digit (``0-306-40615-2``)."""
    if raw.count("-") < 3:
        return False
    digits = raw.replace("-", "")
    if len(digits) == 10 and digits.isdigit():
        return sum((10 - i) * int(d) for i, d in enumerate(digits)) % 11 == 0
    if len(digits) == 13 and digits.startswith(("978", "979")):
        return sum((3 if i % 2 else 1) * int(d) for i, d in enumerate(digits)) % 10 == 0
    return False


class PhoneDetector:
    """Phone numbers in international (``+44 20 7946 0958``, ``0044 …``) and national
    formats (``(212) 555-0187``, ``030 12345678``). Kind ``PHONE``.

    Parameters:
        regions: ISO 3166 country codes whose national formats to accept, tried in order; a
            number with a ``+`` or ``00`` prefix is checked against its own country. The
            default covers the locales of the project's corpus.
    """

    kind = "PHONE"

    def __init__(self, regions: Sequence[str] = ("US", "GB", "DE", "FR", "ES", "IT", "NL")) -> None:
        self._lib = _phonenumbers()
        self.regions = tuple(region.upper() for region in regions)
        self._checked: dict[bytes, bool] = {}
        self._salt = os.urandom(16)

    def __call__(self, text: str) -> Iterator[Detection]:
        for match in _CANDIDATE.finditer(text):
            raw = match.group()
            digits = sum(char.isdigit() for char in raw)
            if not 7 <= digits <= 15:  # E.164: at most 15 digits; no country uses fewer than 7
                continue  # (this also skips card numbers and IBAN digit runs cheaply)
            if _DATE.fullmatch(raw) or _DOTTED.fullmatch(raw) or _is_isbn(raw):
                continue
            if not raw.startswith(("+", "00", "0", "(")) and len(_SEPARATORS.findall(raw)) < 2:
                # A national number is written with its trunk prefix, its area code in
                # brackets, or in groups; a bare run like 62703508 or 4892.83 is an order
                # number or an amount far more often than a phone.
                continue
            if self._valid(raw):
                yield Detection(match.start(), match.end(), self.kind)

    def _valid(self, raw: str) -> bool:
        # parse + is_valid_number cost about 0.15 ms a number; a conversation re-sends its
        # history with every call, so the same numbers are checked again and again.
        # Remembered by a keyed digest, not the number: the detector outlives the call, and the
        # numbers must not (vars(), a memory dump, a debugger).
        digest = hashlib.blake2b(raw.encode(), key=self._salt, digest_size=16).digest()
        known = self._checked.get(digest)
        if known is None:
            known = self._check(raw)
            if len(self._checked) >= _CACHE_SIZE:
                self._checked.clear()
            self._checked[digest] = known
        return known

    def _check(self, raw: str) -> bool:
        lib = self._lib
        international = raw.startswith(("+", "00"))
        if raw.startswith("00"):
            raw = "+" + raw[2:]
        regions: Sequence[str | None] = (None,) if international else self.regions
        for region in regions:
            try:
                number = lib.parse(raw, region)
            except lib.NumberParseException:
                continue
            if lib.is_valid_number(number):
                return True
        return False

    def __repr__(self) -> str:
        return f"PhoneDetector(regions={self.regions!r})"
