"""Helpers for privacy tests that go through a client and a real server.

:func:`check_masked_roundtrip` is meant for the client wiring (``Client(privacy=...)``): give it
a function that sends one text the way the app would and returns what the server received and
what the app got back; it asserts the server never saw a sensitive value and the app got every
value back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

# One value of every rule-detected kind, each with a valid check digit / range, so a masker
# that works masks all of them. Keys are the kinds the masker should report.
SENSITIVE_VALUES: Mapping[str, str] = {
    "EMAIL": "ada.lovelace@example.org",
    "PHONE": "+44 20 7946 0958",
    "CARD": "4111 1111 1111 1111",
    "IBAN": "DE89 3704 0044 0532 0130 00",
    "IP_ADDRESS": "203.0.113.42",
    "SSN": "123-45-6789",
    "NATIONAL_ID": "12345678Z",
    "SECRET": "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz",
}


def sentence_with(values: Mapping[str, str] = SENSITIVE_VALUES) -> str:
    """A message that mentions every value once, in prose."""
    return " ".join(
        f"My {kind.lower().replace('_', ' ')} is {value} ." for kind, value in values.items()
    )


def check_masked_roundtrip(
    send: Callable[[str], tuple[str, str]],
    values: Mapping[str, str] = SENSITIVE_VALUES,
) -> tuple[str, str]:
    """Send a message mentioning every value through ``send`` and check both directions.

    ``send(text)`` must return ``(received, answer)``: the text the server received (e.g. an
    echo of the request body) and the text the app got back after restore. With an echoing
    server the answer must equal the message exactly. Returns both for further checks.
    """
    text = sentence_with(values)
    received, answer = send(text)
    for kind, value in values.items():
        assert value not in received, f"the server saw the {kind} value"
        assert f"<{kind}_" in received, f"no {kind} placeholder reached the server"
    assert answer == text, "the answer did not get every value back"
    return received, answer
