"""Rule detectors: what each finds, and the look-alikes its validity check rejects."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from maaskit.privacy import (
    CardDetector,
    Detector,
    EmailDetector,
    IBANDetector,
    IPAddressDetector,
    NationalIDDetector,
    PhoneDetector,
    SecretDetector,
    SSNDetector,
    _secrets,
)


def found(detector: Detector, text: str) -> list[str]:
    return [text[d.start : d.end] for d in detector(text)]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("detector", "text", "expected"),
    [
        (EmailDetector(), "to ada.l+x@mail.example.co.uk, now", ["ada.l+x@mail.example.co.uk"]),
        (EmailDetector(), "a..b@example.com, a@b, x@localhost, .a@example.com", []),
        (CardDetector(), "card 4111-1111-1111-1111.", ["4111-1111-1111-1111"]),
        (
            CardDetector(),
            "amex 378282246310005 jcb 3530111333300000",
            ["378282246310005", "3530111333300000"],
        ),
        (
            CardDetector(),
            "bad luhn 4111 1111 1111 1112, isbn 9780306406157, 4111 1111-1111 1111",
            [],
        ),
        (IBANDetector(), "IBAN GB82 WEST 1234 5698 7654 32 ok", ["GB82 WEST 1234 5698 7654 32"]),
        (IBANDetector(), "NL91ABNA0417164300.", ["NL91ABNA0417164300"]),
        (
            IBANDetector(),
            "GB82 WEST 1234 5698 7654 33, DE89370400440532013001, XX89370400440532013000",
            [],
        ),
        (
            IPAddressDetector(),
            "from 192.168.0.1 and 2001:db8::8a2e:370:7334.",
            ["192.168.0.1", "2001:db8::8a2e:370:7334"],
        ),
        (IPAddressDetector(), "256.1.1.1, 01.2.3.4, version 10.0.19041.1, 12:30:45, ::", []),
        (SSNDetector(), "SSN 078-05-1120 or 078 05 1120", ["078-05-1120", "078 05 1120"]),
        (
            SSNDetector(),
            "666-12-3456 900-12-3456 123-00-4567 123-45-0000 123-45 6789 123456789",
            [],
        ),
        (
            NationalIDDetector(),
            "NINO AB 12 34 56 C, DNI 12345678Z, NIE X1234567L",
            ["AB 12 34 56 C", "12345678Z", "X1234567L"],
        ),
        (
            NationalIDDetector(),
            "NIR 1 85 05 78 006 084 91, CF RSSMRA85T10A562S",
            ["1 85 05 78 006 084 91", "RSSMRA85T10A562S"],
        ),
        (
            NationalIDDetector(),
            "QQ123456C GB123456A 12345678A 1 85 05 78 006 084 92 RSSMRA85T10A562T",
            [],
        ),
        (
            PhoneDetector(),
            "call (212) 555-0187 or +49 30 901820 or 0044 20 7946 0958",
            ["(212) 555-0187", "+49 30 901820", "0044 20 7946 0958"],
        ),
        (
            PhoneDetector(),
            "order 62703508, 2024-03-15, 13.12.2024, v1.2.3, ISBN 0-306-40615-2, 4892.83",
            [],
        ),
    ],
)
def test_detector(detector: Detector, text: str, expected: list[str]) -> None:
    assert found(detector, text) == expected


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_" + "a1" * 18,
        "xoxb-123456789012-123456789012-abcdefghij",
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
        "AIza" + "SyA-1234567890abcdefghijklmnopqrstu",
        "hf_" + "abcdefghijklmnopqrstuvwxyzABCDEFGH",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ],
)
def test_api_key_shapes(secret: str) -> None:
    assert found(SecretDetector(), f"key: {secret} end") == [secret]


def test_other_secret_forms() -> None:
    detector = SecretDetector()
    block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAKC\n-----END RSA PRIVATE KEY-----"
    assert found(detector, f"x {block} y") == [block]
    assert found(detector, "Authorization: Bearer abcdEFGH1234ijklMNOP5678") == [
        "abcdEFGH1234ijklMNOP5678"
    ]
    assert found(detector, "https://ada:hunter2x@example.com/") == ["ada:hunter2x"]
    assert found(detector, 'password = "correct-horse"') == ["correct-horse"]
    assert found(detector, "ask the sk-learn folks; skip; the token is short") == []


def test_ip_detector_can_leave_private_addresses() -> None:
    detector = IPAddressDetector(include_private=False)
    assert found(detector, "10.0.0.1 and 8.8.8.8") == ["8.8.8.8"]


def test_phone_regions_decide_national_formats() -> None:
    assert found(PhoneDetector(regions=["DE"]), "030 901820") == ["030 901820"]
    assert found(PhoneDetector(regions=["US"]), "030 901820") == []


# The patterns as they were before they were rewritten for speed (look-behinds first): the
# rewrites must find exactly the same spans.
_REFERENCE_PATTERNS = {
    "EMAIL": (
        r"(?<![\w.%+-])[\w.%+-]{1,64}@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}"
        r"(?![\w-])"
    ),
    "CARD": r"(?<![\w-])\d(?:[ -]?\d){11,18}(?![\w]|-\d)",
    "SSN": r"(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w]|-\d)",
    "IPV4": r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)",
    "IBAN": r"(?<![A-Za-z0-9])([A-Z]{2})\d{2}",
    "NINO": r"(?<![\w])[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D](?!\w)",
    "DNI": r"(?<![\w])[XYZ0-9]\d{7}-?[A-Z](?!\w)",
    "NIR": r"(?<![\w])[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?!\w)",
    "CF": r"(?<![\w])[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z](?!\w)",
}
_ALPHABET = "ab.Z_%+-@ 1209:x\u00e9"


def _reference_emails(text: str) -> list[tuple[int, int]]:
    found = []
    for match in re.finditer(_REFERENCE_PATTERNS["EMAIL"], text):
        local, _, domain = match.group().rpartition("@")
        if local.startswith(".") or local.endswith(".") or ".." in local or len(domain) > 253:
            continue
        found.append((match.start(), match.end()))
    return found


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=80))
def test_email_detector_finds_what_the_reference_pattern_finds(text: str) -> None:
    assert [(d.start, d.end) for d in EmailDetector()(text)] == _reference_emails(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789 -.aX", max_size=60))
def test_rewritten_digit_patterns_match_like_the_reference(text: str) -> None:
    pairs = (
        (CardDetector._pattern, "CARD"),
        (SSNDetector._pattern, "SSN"),
        (IPAddressDetector._v4, "IPV4"),
    )
    for pattern, name in pairs:
        expected = [m.span() for m in re.finditer(_REFERENCE_PATTERNS[name], text)]
        assert [m.span() for m in pattern.finditer(text)] == expected, name


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ABXZ0129 -a", max_size=60))
def test_rewritten_letter_patterns_match_like_the_reference(text: str) -> None:
    pairs = (
        (IBANDetector._start, "IBAN"),
        (NationalIDDetector._nino, "NINO"),
        (NationalIDDetector._dni, "DNI"),
        (NationalIDDetector._nir, "NIR"),
        (NationalIDDetector._cf, "CF"),
    )
    for pattern, name in pairs:
        expected = [m.span() for m in re.finditer(_REFERENCE_PATTERNS[name], text)]
        assert [m.span() for m in pattern.finditer(text)] == expected, name


def test_the_phone_detector_remembers_no_number() -> None:
    detector = PhoneDetector()
    text = "Call +44 20 7946 0958 or 030 12345678."
    assert len(list(detector(text))) == 2
    assert len(list(detector(text))) == 2  # answered from what it remembers
    state = repr(vars(detector))
    for digits in ("7946", "0958", "12345678"):
        assert digits not in state


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *("sk-", "sk-proj-", "AKIA", "ghp_", "xoxb-", "sk_live_", "AIza", "hf_", "SG."),
                *("eyJ", "A", "b", "Z", "0", "9", "_", "-", ".", " ", "x" * 20, "Ab9" * 12),
            ]
        ),
        max_size=12,
    ).map("".join)
)
def test_the_key_pattern_look_ahead_loses_no_shape(text: str) -> None:
    # The look-ahead on first letters must cover every shape: same spans as without it.
    reference = re.compile(
        r"(?<![A-Za-z0-9_-])(?:" + "|".join(_secrets._KEY_SHAPES) + r")(?![A-Za-z0-9_-])"
    )
    assert [m.span() for m in _secrets._KEYS.finditer(text)] == [
        m.span() for m in reference.finditer(text)
    ]
