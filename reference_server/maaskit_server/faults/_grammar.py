"""Parsing of the fault grammar (see the package docstring for the full description)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["FaultSpec", "FaultSyntaxError", "parse_fault"]

# Statuses a fault may answer: the ones real backends send and SDKs must handle.
ALLOWED_STATUSES = frozenset({400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 504, 529})
# Stream faults that end the response; at most one per spec.
TERMINAL_STREAM_FAULTS = ("reset", "malformed", "truncate", "error_event", "stall")
MAX_WAIT_MS = 120_000
MAX_STALL_S = 600.0


class FaultSyntaxError(ValueError):
    """The fault text does not follow the grammar; the message says which part."""


@dataclass(frozen=True)
class FaultSpec:
    """One parsed fault. ``None`` fields are not part of it.

    ``reset_before_headers`` is ``reset=headers``; ``reset`` (an int) is ``reset=<n>``.
    """

    status: int | None = None
    retry_after: float | None = None
    retry_after_ms: int | None = None
    latency_ms: int | None = None
    drip_ms: int | None = None
    reset_before_headers: bool = False
    reset: int | None = None
    malformed: int | None = None
    truncate: int | None = None
    error_event: int | None = None
    stall: int | None = None
    stall_max_s: float = MAX_STALL_S
    times: int | None = None
    id: str | None = None

    @property
    def kind(self) -> str:
        """The fault's main kind, used as the label of the injected-faults counter."""
        if self.status is not None:
            return f"status_{self.status}"
        if self.reset_before_headers:
            return "reset_before_headers"
        for name in TERMINAL_STREAM_FAULTS:
            if getattr(self, name) is not None:
                return "reset_mid_stream" if name == "reset" else name
        if self.drip_ms is not None:
            return "drip"
        return "latency"

    def as_dict(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) is not None
            and getattr(self, f.name) is not False
            and f.name != "stall_max_s"
        }


def _int(name: str, value: str, *, low: int = 0, high: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise FaultSyntaxError(f"{name}={value!r}: expected an integer") from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise FaultSyntaxError(f"{name}={number}: must be {bound}")
    return number


def _float(name: str, value: str, *, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FaultSyntaxError(f"{name}={value!r}: expected a number") from None
    if not 0 <= number <= high:
        raise FaultSyntaxError(f"{name}={number}: must be between 0 and {high}")
    return number


def parse_fault(text: str) -> FaultSpec:
    """``"status=503; times=2; retry_after=0"`` → :class:`FaultSpec`. Raises
    :class:`FaultSyntaxError` on an unknown directive, a bad value or a contradiction."""
    values: dict[str, Any] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep or not value:
            raise FaultSyntaxError(f"{part!r}: expected name=value")
        if name in values or (name == "reset" and "reset_before_headers" in values):
            raise FaultSyntaxError(f"{name!r} given twice")
        if name == "status":
            status = _int(name, value, low=100, high=599)
            if status not in ALLOWED_STATUSES:
                allowed = ", ".join(map(str, sorted(ALLOWED_STATUSES)))
                raise FaultSyntaxError(f"status={status}: must be one of {allowed}")
            values[name] = status
        elif name == "retry_after":
            values[name] = _float(name, value, high=3600.0)
        elif name in ("retry_after_ms", "latency_ms", "drip_ms"):
            values[name] = _int(name, value, high=MAX_WAIT_MS)
        elif name == "reset" and value.lower() == "headers":
            values["reset_before_headers"] = True
        elif name in TERMINAL_STREAM_FAULTS:
            values[name] = _int(name, value, high=100_000)
        elif name == "stall_max_s":
            values[name] = _float(name, value, high=MAX_STALL_S)
        elif name == "times":
            values[name] = _int(name, value, low=1, high=1_000_000)
        elif name == "id":
            values[name] = value[:200]
        else:
            raise FaultSyntaxError(f"unknown fault directive {name!r}")
    spec = FaultSpec(**values)
    _check(spec, text)
    return spec


def _check(spec: FaultSpec, text: str) -> None:
    terminal = [name for name in TERMINAL_STREAM_FAULTS if getattr(spec, name) is not None]
    if spec.reset_before_headers:
        terminal.append("reset=headers")
    if len(terminal) > 1:
        raise FaultSyntaxError(f"only one of {', '.join(terminal)} may be given")
    if spec.status is not None and (terminal or spec.drip_ms is not None):
        raise FaultSyntaxError("status= answers at once; it cannot be combined with stream faults")
    has_retry_after = spec.retry_after is not None or spec.retry_after_ms is not None
    if has_retry_after and spec.status is None:
        raise FaultSyntaxError("retry_after/retry_after_ms need status=")
    effects = spec.as_dict().keys() - {"times", "id", "retry_after", "retry_after_ms"}
    if not effects:
        raise FaultSyntaxError(f"{text!r} names no fault")
