"""Keep personal data and secrets out of requests: mask before sending, restore in answers.

``Masker`` finds e-mail addresses, phone numbers, payment cards, IBANs, IP addresses, US SSNs,
national ID numbers and credentials with rule detectors that check validity (Luhn, mod-97,
libphonenumber, ``ipaddress``, issuing rules), plus any custom detector and, for names,
organisations and places, a token-classification model behind :class:`EndpointDetector`.
Everything but ``EndpointDetector`` is pure: no I/O, no global state.

The seam the client calls (one session per call, or per conversation)::

    masker = Masker()                      # or Masker(extra_detectors=[EndpointDetector(url)])
    session = masker.session()
    sent = session.mask("Mail alice@example.com")        # 'Mail <EMAIL_1>' (async: amask)
    answer = session.restore("I wrote to <EMAIL_1>.")    # 'I wrote to alice@example.com.'
    restorer = session.stream_restorer()                 # for a streamed answer:
    shown = restorer.feed("I wrote to <EMA")             # 'I wrote to '  (keeps '<EMA' back)
    shown += restorer.feed("IL_1>.")                     # 'alice@example.com.'
    shown += restorer.flush()                            # '' (what was kept back, at the end)

Rules the session keeps:

* placeholders are typed (``<KIND_N>``) and stable: one value, one placeholder per session;
* text that already looks like a placeholder is escaped (masked as ``<PLACEHOLDER_N>``), so a
  restore gives back the literal text and never someone's data; placeholders the session did
  not issue are left alone;
* overlapping detections resolve leftmost-longest, then by detector order (deterministic);
* modes: ``mask`` (restore), ``redact`` (``<EMAIL>``, no restore), ``pseudonymise`` (keyed
  hash ``<EMAIL_3f9a0c2d41be>``, stable across sessions with the same ``key``);
* the values live only in the session's memory, never in a ``repr``, log or exception; a
  detector that fails raises :class:`DetectorError` naming only the detector, so the caller
  sends nothing (masking fails closed).
"""

from typing import TYPE_CHECKING

from ._corpus import CorpusRow, KindScore, Report, evaluate, load_corpus
from ._custom import RegexDetector
from ._detection import Detection, Detector, DetectorError, PrivacyError, resolve_overlaps
from ._endpoint import DEFAULT_ENTITY_KINDS, EndpointDetector
from ._masker import ESCAPE_KIND, Masker, default_detectors
from ._placeholders import PLACEHOLDER_PATTERN, StreamRestorer
from ._secrets import SecretDetector
from ._session import MaskSession, Mode
from ._structured import (
    CardDetector,
    EmailDetector,
    IBANDetector,
    IPAddressDetector,
    NationalIDDetector,
    SSNDetector,
)

__all__ = [
    "DEFAULT_ENTITY_KINDS",
    "ESCAPE_KIND",
    "PLACEHOLDER_PATTERN",
    "CardDetector",
    "CorpusRow",
    "Detection",
    "Detector",
    "DetectorError",
    "EmailDetector",
    "EndpointDetector",
    "IBANDetector",
    "IPAddressDetector",
    "KindScore",
    "MaskSession",
    "Masker",
    "Mode",
    "NationalIDDetector",
    "PhoneDetector",
    "PrivacyError",
    "RegexDetector",
    "Report",
    "SSNDetector",
    "SecretDetector",
    "StreamRestorer",
    "default_detectors",
    "evaluate",
    "load_corpus",
    "resolve_overlaps",
]

if TYPE_CHECKING:  # type checkers see the class; at run time it is imported on first use
    from ._phone import PhoneDetector as PhoneDetector


def __getattr__(name: str) -> object:
    # PhoneDetector imports phonenumbers (the "privacy" extra): only when asked for.
    if name == "PhoneDetector":
        from ._phone import PhoneDetector

        return PhoneDetector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
