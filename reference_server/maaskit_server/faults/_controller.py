"""Which fault (if any) a request gets: header faults with per-identity counters, and the
server-side script set over the admin route."""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._answers import AnswerScript
from ._grammar import FaultSpec, FaultSyntaxError, parse_fault

__all__ = ["FaultController", "FaultRule", "RequestFacts"]

# Counters of header faults with times= are kept for this many identities (oldest dropped).
MAX_TRACKED_IDENTITIES = 10_000
MAX_RULES = 1_000


@dataclass(frozen=True)
class RequestFacts:
    """What a rule can match on."""

    method: str
    path: str
    model: str | None
    idempotency_key: str | None


@dataclass
class FaultRule:
    """A scripted fault: applies to the next ``remaining`` requests matching route and model.

    ``route`` is a shell-style pattern on the path (``/v1/*``); ``model`` the model name from
    the JSON body's ``model`` or the path (``/v2/models/NAME/...``, ``/models/NAME``)."""

    text: str
    spec: FaultSpec
    route: str | None
    model: str | None
    remaining: int
    fired: int = 0

    def matches(self, facts: RequestFacts) -> bool:
        if self.remaining <= 0:
            return False
        if self.route is not None and not fnmatch.fnmatchcase(facts.path, self.route):
            return False
        return self.model is None or self.model == facts.model

    def as_dict(self) -> dict[str, Any]:
        return {
            "fault": self.text,
            "route": self.route,
            "model": self.model,
            "remaining": self.remaining,
            "fired": self.fired,
        }


def _optional_str(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise FaultSyntaxError(f"rule field {name!r} must be a non-empty string")
    return value


def rule_from_json(data: Any) -> FaultRule:
    if not isinstance(data, Mapping):
        raise FaultSyntaxError("each rule must be a JSON object")
    unknown = set(data) - {"fault", "route", "model", "times"}
    if unknown:
        raise FaultSyntaxError(f"unknown rule field(s): {', '.join(sorted(unknown))}")
    text = data.get("fault")
    if not isinstance(text, str):
        raise FaultSyntaxError("rule field 'fault' must be a fault string")
    spec = parse_fault(text)
    times = data.get("times", spec.times if spec.times is not None else 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise FaultSyntaxError("rule field 'times' must be an integer >= 1")
    return FaultRule(text, spec, _optional_str(data, "route"), _optional_str(data, "model"), times)


class FaultController:
    """Thread-safe because the admin route and requests may run on different tasks; the lock
    is only held for dictionary updates, never across an await."""

    def __init__(self, admin_key_sha256: str = "") -> None:
        self._admin_digest = bytes.fromhex(admin_key_sha256) if admin_key_sha256 else b""
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._header_counts: OrderedDict[str, int] = OrderedDict()
        self.injected: Counter[str] = Counter()
        # Scripted answers share the faults' switch (--enable-faults) and admin key.
        self.answers = AnswerScript()

    # -- admin ------------------------------------------------------------------------------

    @property
    def admin_enabled(self) -> bool:
        return bool(self._admin_digest)

    def admin_key_is_valid(self, presented: str) -> bool:
        digest = hashlib.sha256(presented.encode("utf-8")).digest()
        return bool(self._admin_digest) and hmac.compare_digest(digest, self._admin_digest)

    def add_rules(self, items: Sequence[Any], *, replace: bool = False) -> list[FaultRule]:
        rules = [rule_from_json(item) for item in items]  # all validated before any applies
        with self._lock:
            if replace:
                self._rules = []
            if len(self._rules) + len(rules) > MAX_RULES:
                raise FaultSyntaxError(f"at most {MAX_RULES} rules may be scripted")
            self._rules.extend(rules)
        return rules

    def clear(self) -> None:
        with self._lock:
            self._rules = []
            self._header_counts.clear()
            self.injected.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rules": [rule.as_dict() for rule in self._rules],
                "injected": dict(self.injected),
                "injected_total": sum(self.injected.values()),
            }

    def needs_model(self, path: str) -> bool:
        """Whether any live rule filters on the model (only then is the body read)."""
        with self._lock:
            return any(rule.model is not None and rule.remaining > 0 for rule in self._rules)

    # -- selection --------------------------------------------------------------------------

    def select(self, header: str | None, facts: RequestFacts) -> FaultSpec | None:
        """The fault for this request, counting it. A header fault wins over the script.
        Raises :class:`FaultSyntaxError` for a malformed header."""
        if header is not None and header.strip():
            spec = parse_fault(header)
            if self._take_header(spec, header, facts):
                self._count(spec)
                return spec
            return None
        with self._lock:
            for rule in self._rules:
                if rule.matches(facts):
                    rule.remaining -= 1
                    rule.fired += 1
                    self.injected[rule.spec.kind] += 1
                    return rule.spec
        return None

    def _take_header(self, spec: FaultSpec, header: str, facts: RequestFacts) -> bool:
        if spec.times is None:
            return True
        # The same logical call (same fault id, else same Idempotency-Key) shares a counter,
        # so "times=2" fails its first two attempts and lets the third through.
        identity = spec.id or facts.idempotency_key or header.strip()
        key = f"{facts.method} {facts.path}\0{identity}"
        with self._lock:
            used = self._header_counts.pop(key, 0)
            self._header_counts[key] = used + 1
            while len(self._header_counts) > MAX_TRACKED_IDENTITIES:
                self._header_counts.popitem(last=False)
        return used < spec.times

    def _count(self, spec: FaultSpec) -> None:
        with self._lock:
            self.injected[spec.kind] += 1
