"""Sans-I/O descriptions of an HTTP exchange, produced and consumed by providers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HttpRequest", "HttpResponse"]


@dataclass(frozen=True)
class HttpRequest:
    """What to send: ``path`` is relative to the endpoint's base URL. The body is ``json``,
    or ``content`` as is (a binary body, e.g. KServe's binary tensors; its ``Content-Type``
    goes in ``headers``)."""

    method: str
    path: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None

    @property
    def idempotent(self) -> bool:
        return self.method.upper() in {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class HttpResponse:
    """What came back; header names are lower-case."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes
