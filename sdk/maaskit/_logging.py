"""The ``maaskit`` logger and the redaction every log line and error message goes through."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

__all__ = ["REDACTED", "SENSITIVE_HEADERS", "logger", "redact_headers", "scrub"]

logger = logging.getLogger("maaskit")

REDACTED = "[REDACTED]"
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"}
)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name: REDACTED if name.lower() in SENSITIVE_HEADERS else value
        for name, value in headers.items()
    }


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Remove every known secret from text a server sent back (some echo the key they got)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text
