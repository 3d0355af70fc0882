"""The Masker: a list of detectors and a mode, and the sessions that apply them."""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any

from pydantic import SecretBytes

from ._detection import (
    KIND_PATTERN,
    Detection,
    Detector,
    DetectorError,
    check_kind,
    resolve_overlaps,
)
from ._placeholders import PLACEHOLDER_PATTERN
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

__all__ = ["ESCAPE_KIND", "Masker", "default_detectors"]

# Text that already looks like a placeholder is masked as this kind, so that restoring gives
# back the user's literal text instead of a value.
ESCAPE_KIND = "PLACEHOLDER"
_MODES = ("mask", "redact", "pseudonymise")


def default_detectors(*, phone_regions: Sequence[str] | None = None) -> list[Detector]:
    """The built-in rule detectors: secrets, e-mail, cards, IBANs, IPs, SSNs, national IDs and,
    when the ``phonenumbers`` package is installed, phones (``pip install 'maaskit[privacy]'``).

    Parameters:
        phone_regions: the countries whose national phone formats are accepted
            (:class:`PhoneDetector`'s default when None).
    """
    detectors: list[Detector] = [
        SecretDetector(),
        EmailDetector(),
        CardDetector(),
        IBANDetector(),
        IPAddressDetector(),
        SSNDetector(),
        NationalIDDetector(),
    ]
    try:
        from ._phone import PhoneDetector

        detectors.append(PhoneDetector() if phone_regions is None else PhoneDetector(phone_regions))
    except ImportError:
        if phone_regions is not None:
            raise
    return detectors


class Masker:
    """Finds personal data and secrets in text and replaces them with typed placeholders.

    Parameters:
        detectors: the detectors to run, in priority order (see :func:`resolve_overlaps`). A
            detector is any callable from text to :class:`Detection` objects or
            ``(start, end, kind)`` tuples; :class:`RegexDetector` wraps a regex. ``None`` gives
            :func:`default_detectors`.
        extra_detectors: detectors added after ``detectors``, e.g. an :class:`EndpointDetector`
            for names on top of the defaults.
        kinds: if given, only detections of these kinds are masked.
        mode: ``"mask"`` (placeholders ``<EMAIL_1>``, restored in answers), ``"redact"``
            (``<EMAIL>``, never restored) or ``"pseudonymise"`` (``<EMAIL_3f9a0c2d41be>``, a
            keyed hash of the value: the same value gets the same placeholder in every session
            of maskers sharing ``key``; restored within a session).
        key: the pseudonymisation key (bytes or str). Without one, a random key is made, so
            placeholders are stable for this Masker's lifetime only. Never shown in ``repr``.
    """

    def __init__(
        self,
        detectors: Sequence[Detector] | None = None,
        *,
        extra_detectors: Iterable[Detector] = (),
        kinds: Iterable[str] | None = None,
        mode: Mode = "mask",
        key: bytes | str | None = None,
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {', '.join(_MODES)}; got {mode!r}")
        base = default_detectors() if detectors is None else list(detectors)
        self.detectors: tuple[Detector, ...] = (*base, *extra_detectors)
        for detector in self.detectors:
            if not callable(detector):
                raise TypeError(f"a detector must be callable, got {type(detector).__name__}")
        self.kinds = None if kinds is None else frozenset(check_kind(kind) for kind in kinds)
        self.mode: Mode = mode
        if isinstance(key, str):
            key = key.encode()
        # SecretBytes: the key shows as '**********' in vars(), reprs and tracebacks.
        self._key = SecretBytes(key if key is not None else secrets.token_bytes(32))
        self._detect = _Detect(self)

    def session(self) -> MaskSession:
        """A new session: one per call, or one per conversation to keep placeholders stable
        across its messages."""
        return MaskSession(self._detect, mode=self.mode, key=self._key)

    def detect(self, text: str) -> list[Detection]:
        """The detections that would be masked in ``text``: non-overlapping, sorted by start."""
        return self._detect(text, escape=False)

    async def adetect(self, text: str) -> list[Detection]:
        """:meth:`detect`, awaiting async detectors."""
        return await self._detect.adetect(text, escape=False)

    def __repr__(self) -> str:
        names = ", ".join(_detector_name(detector) for detector in self.detectors)
        return f"Masker(mode={self.mode!r}, detectors=[{names}])"


class _Detect:
    """Runs a masker's detectors and resolves their overlaps (what a session calls)."""

    def __init__(self, masker: Masker) -> None:
        self._masker = masker

    def __call__(self, text: str, escape: bool) -> list[Detection]:
        found = self._start(text, escape)
        for index, detector in enumerate(self._masker.detectors):
            found.extend(self._checked(detector, _run(detector, text), text, index))
        return self._finish(found)

    async def adetect(self, text: str, escape: bool) -> list[Detection]:
        found = self._start(text, escape)
        for index, detector in enumerate(self._masker.detectors):
            adetect = getattr(detector, "adetect", None)
            if adetect is not None and inspect.iscoroutinefunction(adetect):
                try:
                    output: Any = await _awaited(adetect(text))
                except Exception as exc:
                    raise _detector_error(detector, exc) from None
            else:
                output = _run(detector, text)
            found.extend(self._checked(detector, output, text, index))
        return self._finish(found)

    def _start(self, text: str, escape: bool) -> list[tuple[Detection, int]]:
        if not isinstance(text, str):
            raise TypeError(f"can only mask str, got {type(text).__name__}")
        if not escape or "<" not in text:
            return []
        # Priority -1: an escaped placeholder wins every tie, so no detector can cut into it.
        return [
            (Detection(match.start(), match.end(), ESCAPE_KIND), -1)
            for match in PLACEHOLDER_PATTERN.finditer(text)
        ]

    def _checked(
        self, detector: Detector, output: Any, text: str, index: int
    ) -> list[tuple[Detection, int]]:
        kinds = self._masker.kinds
        checked: list[tuple[Detection, int]] = []
        try:
            for item in output:
                detection = item if isinstance(item, Detection) else Detection(*item)
                if not (
                    isinstance(detection.start, int)
                    and isinstance(detection.end, int)
                    and 0 <= detection.start < detection.end <= len(text)
                ):
                    raise _BadDetection("returned a span outside the text")
                if KIND_PATTERN.fullmatch(detection.kind) is None:
                    raise _BadDetection("returned a kind that is not upper-case [A-Z0-9_]")
                if kinds is None or detection.kind in kinds:
                    checked.append((detection, index))
        except _BadDetection as exc:
            raise DetectorError(f"detector {_detector_name(detector)} {exc}") from None
        except Exception as exc:
            raise _detector_error(detector, exc) from None
        return checked

    @staticmethod
    def _finish(found: list[tuple[Detection, int]]) -> list[Detection]:
        return resolve_overlaps(found)


class _BadDetection(Exception):
    pass


def _run(detector: Detector, text: str) -> Any:
    try:
        return list(detector(text))
    except Exception as exc:
        raise _detector_error(detector, exc) from None


async def _awaited(value: Awaitable[Any]) -> Any:
    return list(await value)


def _detector_name(detector: object) -> str:
    name = getattr(detector, "__qualname__", None) or type(detector).__qualname__
    return str(name)


def _detector_error(detector: object, exc: Exception) -> DetectorError:
    # The original message may quote the text being masked: name its type only.
    return DetectorError(f"detector {_detector_name(detector)} failed with {type(exc).__name__}")
