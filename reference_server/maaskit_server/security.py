"""API keys and the request body limit, as two small ASGI middlewares.

Keys are held only as SHA-256 digests; a presented key is hashed and compared against every
digest with :func:`hmac.compare_digest`, so neither the comparison nor the set of keys leaks
through timing, logs or reprs. ``/health`` and ``/ready`` stay open for orchestrators.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from pathlib import Path

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import APIError, error_response

# Liveness and readiness probes stay open: orchestrators (Kubernetes, KServe) send no key.
OPEN_PATHS = frozenset({"/health", "/ready", "/v2/health/live", "/v2/health/ready"})


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def parse_keys_env(value: str) -> list[str]:
    """Keys from a comma-separated environment variable (blank items ignored)."""
    return [key.strip() for key in value.split(",") if key.strip()]


def read_key_hashes_file(path: Path) -> list[bytes]:
    """SHA-256 hex digests, one per line; blank lines and ``#`` comments ignored."""
    digests = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            digest = bytes.fromhex(line)
        except ValueError:
            digest = b""
        if len(digest) != hashlib.sha256().digest_size:
            raise ValueError(f"{path}:{number}: not a SHA-256 hex digest")
        digests.append(digest)
    return digests


class APIKeyChecker:
    def __init__(self, digests: Iterable[bytes]) -> None:
        self._digests = tuple(digests)

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def is_valid(self, presented: str) -> bool:
        digest = hash_key(presented)
        matched = False
        for known in self._digests:  # no early exit: every digest is compared
            matched |= hmac.compare_digest(digest, known)
        return matched

    def __repr__(self) -> str:
        return f"APIKeyChecker(<{len(self._digests)} keys>)"


def presented_key(headers: Headers) -> str | None:
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    api_key = headers.get("api-key", "").strip()
    return api_key or None


class APIKeyMiddleware:
    def __init__(self, app: ASGIApp, checker: APIKeyChecker) -> None:
        self.app = app
        self.checker = checker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not self.checker.enabled or path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        key = presented_key(Headers(scope=scope))
        if key is not None and self.checker.is_valid(key):
            await self.app(scope, receive, send)
            return
        message = (
            "Missing API key: send it as 'Authorization: Bearer <key>' or an 'api-key' header."
            if key is None
            else "Incorrect API key provided."
        )
        error = APIError(
            401,
            message,
            type="invalid_request_error",
            code="missing_api_key" if key is None else "invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )
        await error_response(path, error)(scope, receive, send)


class RequestTooLargeError(Exception):
    pass


class BodyLimitMiddleware:
    """Answer 413 as soon as the body exceeds ``max_bytes``, counting while it streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(path, self._error())(scope, receive, send)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except RequestTooLargeError:
            if response_started:
                raise
            await error_response(path, self._error())(scope, receive, send)

    def _error(self) -> APIError:
        return APIError(
            413,
            f"Request body is larger than the server's limit of {self.max_bytes} bytes.",
            code="request_too_large",
        )
