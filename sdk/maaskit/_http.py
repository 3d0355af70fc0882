"""Sans-I/O descriptions of an HTTP exchange, produced and consumed by providers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HttpRequest", "HttpResponse"]


@dataclass(frozen=True)
class HttpRequest:
    """What to send: ``path`` is relative to the endpoint's base URL."""

    method: str
    path: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def idempotent(self) -> bool:
        return self.method.upper() in {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class HttpResponse:
    """What came back; header names are lower-case."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes
