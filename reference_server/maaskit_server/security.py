"""API keys and the request body limit, as two small ASGI middlewares.

Keys are held only as SHA-256 digests; a presented key is hashed and compared against every
digest with :func:`hmac.compare_digest`, so neither the comparison nor the set of keys leaks
through timing, logs or reprs. ``/health`` and ``/ready`` stay open for orchestrators.

A key may be scoped to some models (a keys-file line ``<digest> model-a,model-b``). For the
rest of its request the middleware puts that scope in :data:`MODEL_SCOPE`, which the model
repository reads: models outside it are not listed and answer 404 like a model that does not
exist (OpenAI's answer too), so a scoped key cannot even learn what else is served.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import APIError, error_response

# Liveness and readiness probes stay open: orchestrators (Kubernetes, KServe) send no key.
OPEN_PATHS = frozenset({"/health", "/ready", "/v2/health/live", "/v2/health/ready"})


# The models the current request's key may use; None: every model (unscoped key, no keys).
MODEL_SCOPE: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar(
    "maaskit_model_scope", default=None
)


@dataclass(frozen=True)
class KeyRecord:
    digest: bytes
    models: frozenset[str] | None = None  # None: every model

    def __repr__(self) -> str:
        scope = "all models" if self.models is None else f"{len(self.models)} model(s)"
        return f"KeyRecord(<digest>, {scope})"


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def parse_keys_env(value: str) -> list[str]:
    """Keys from a comma-separated environment variable (blank items ignored)."""
    return [key.strip() for key in value.split(",") if key.strip()]


def read_key_hashes_file(path: Path) -> list[KeyRecord]:
    """SHA-256 hex digests, one per line, each optionally followed by the comma-separated models
    it is limited to; blank lines and ``#`` comments ignored."""
    records = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        try:
            digest = bytes.fromhex(fields[0])
        except ValueError:
            digest = b""
        if len(digest) != hashlib.sha256().digest_size:
            raise ValueError(f"{path}:{number}: not a SHA-256 hex digest")
        if len(fields) > 2:
            raise ValueError(f"{path}:{number}: models are one comma-separated list, no spaces")
        models = None
        if len(fields) == 2:
            models = frozenset(name for name in fields[1].split(",") if name)
            if not models:
                raise ValueError(f"{path}:{number}: an empty model list")
        records.append(KeyRecord(digest, models))
    return records


class APIKeyChecker:
    def __init__(self, keys: Iterable[bytes | KeyRecord]) -> None:
        self._records = tuple(
            key if isinstance(key, KeyRecord) else KeyRecord(key, None) for key in keys
        )

    @property
    def enabled(self) -> bool:
        return bool(self._records)

    def find(self, presented: str) -> KeyRecord | None:
        """The record of ``presented``, comparing against every digest (no early exit)."""
        digest = hash_key(presented)
        found = None
        for record in self._records:
            if hmac.compare_digest(digest, record.digest):
                found = record
        return found

    def is_valid(self, presented: str) -> bool:
        return self.find(presented) is not None

    def __repr__(self) -> str:
        return f"APIKeyChecker(<{len(self._records)} keys>)"


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
        record = self.checker.find(key) if key is not None else None
        if record is not None:
            token = MODEL_SCOPE.set(record.models)
            try:
                await self.app(scope, receive, send)
            finally:
                MODEL_SCOPE.reset(token)
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
