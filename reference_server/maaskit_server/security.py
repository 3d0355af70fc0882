"""API keys, their scopes, and the request body limit, as small ASGI middlewares.

Keys are held only as SHA-256 digests (:mod:`maaskit_server.keys`); a presented key is hashed
and compared against every digest with :func:`hmac.compare_digest`, so neither the comparison
nor the set of keys leaks through timing, logs or reprs. ``/health`` and ``/ready`` stay open
for orchestrators; ``/ready`` names the models only to a caller with a valid key (or when the
server has no keys).

A key's scopes are enforced here: its route groups (``inference``, ``metrics``, ``admin``; a
key without the group answers 403) and its models. For the rest of its request the middleware
puts the model scope in :data:`MODEL_SCOPE`, which the model repository reads: models outside
it are not listed and answer 404 like a model that does not exist (OpenAI's answer too), so a
scoped key cannot even learn what else is served.
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
from collections.abc import Iterable
from pathlib import Path

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import audit
from .errors import APIError, error_response
from .keys import KeyRecord, KeysFile, hash_key, read_keys_file

__all__ = [
    "CALLER",
    "MODEL_SCOPE",
    "OPEN_PATHS",
    "APIKeyChecker",
    "APIKeyMiddleware",
    "BodyLimitMiddleware",
    "KeyRecord",
    "hash_key",
    "parse_keys_env",
    "read_key_hashes_file",
    "route_scope",
]

# Liveness and readiness probes stay open: orchestrators (Kubernetes, KServe) send no key.
OPEN_PATHS = frozenset({"/health", "/ready", "/v2/health/live", "/v2/health/ready"})
ADMIN_PREFIX = "/_maaskit"


# The models the current request's key may use; None: every model (unscoped key, no keys).
MODEL_SCOPE: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar(
    "maaskit_model_scope", default=None
)
# Whether the current request is authorised: a valid key, or a server without keys.
AUTHORISED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "maaskit_authorised", default=False
)
# The record of the current request's key (None without keys).
CALLER: contextvars.ContextVar[KeyRecord | None] = contextvars.ContextVar(
    "maaskit_caller", default=None
)


def parse_keys_env(value: str) -> list[str]:
    """Keys from a comma-separated environment variable (blank items ignored)."""
    return [key.strip() for key in value.split(",") if key.strip()]


def read_key_hashes_file(path: Path) -> list[KeyRecord]:
    """The records of a keys file (see :mod:`maaskit_server.keys` for the format)."""
    return read_keys_file(path)


def route_scope(path: str) -> str:
    """The route group a path belongs to: ``metrics``, ``admin`` or ``inference``."""
    if path == "/metrics":
        return "metrics"
    if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
        return "admin"
    return "inference"


class APIKeyChecker:
    def __init__(
        self, keys: Iterable[bytes | KeyRecord], keys_file: KeysFile | None = None
    ) -> None:
        self._records = tuple(
            key if isinstance(key, KeyRecord) else KeyRecord(key, None) for key in keys
        )
        self.keys_file = keys_file

    def records(self) -> tuple[KeyRecord, ...]:
        if self.keys_file is None:
            return self._records
        return self._records + self.keys_file.records()

    @property
    def enabled(self) -> bool:
        return self.keys_file is not None or bool(self._records)

    def find(self, presented: str) -> KeyRecord | None:
        """The record of ``presented``, comparing against every digest (no early exit)."""
        digest = hash_key(presented)
        found = None
        for record in self.records():
            if hmac.compare_digest(digest, record.digest):
                found = record
        return found

    def is_valid(self, presented: str) -> bool:
        return self.find(presented) is not None

    def __repr__(self) -> str:
        return f"APIKeyChecker(<{len(self.records())} keys>)"


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
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.checker.enabled:
            token = AUTHORISED.set(True)
            try:
                await self.app(scope, receive, send)
            finally:
                AUTHORISED.reset(token)
            return
        path = str(scope.get("path", ""))
        key = presented_key(Headers(scope=scope))
        record = self.checker.find(key) if key is not None else None
        if record is None and path in OPEN_PATHS:
            await self.app(scope, receive, send)  # open, but not authorised: no model names
            return
        if record is None:
            await error_response(path, _unauthenticated(key is None))(scope, receive, send)
            return
        group = route_scope(path)
        if group not in record.routes and path not in OPEN_PATHS:
            error = APIError(
                403,
                f"This API key may not use the {group} routes.",
                type="permission_error",
                code="insufficient_scope",
            )
            await error_response(path, error)(scope, receive, send)
            return
        audit.note_key(record.id)
        tokens = (MODEL_SCOPE.set(record.models), AUTHORISED.set(True), CALLER.set(record))
        try:
            await self.app(scope, receive, send)
        finally:
            CALLER.reset(tokens[2])
            AUTHORISED.reset(tokens[1])
            MODEL_SCOPE.reset(tokens[0])


def _unauthenticated(missing: bool) -> APIError:
    message = (
        "Missing API key: send it as 'Authorization: Bearer <key>' or an 'api-key' header."
        if missing
        else "Incorrect API key provided."
    )
    return APIError(
        401,
        message,
        type="invalid_request_error",
        code="missing_api_key" if missing else "invalid_api_key",
        headers={"WWW-Authenticate": "Bearer"},
    )


class RequestTooLargeError(Exception):
    pass


class BodyTimeoutError(Exception):
    pass


class BodyLimitMiddleware:
    """Answer 413 as soon as the body exceeds ``max_bytes``, counting while it streams in, and
    408 when the whole body has not arrived ``timeout_s`` after the first read of it (a client
    that sends a byte now and then must not hold a request open for ever)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(path, self._too_large())(scope, receive, send)
            return
        received = 0
        body_done = False
        deadline: float | None = None
        response_started = False
        loop = asyncio.get_running_loop()

        async def limited_receive() -> Message:
            nonlocal received, body_done, deadline
            if body_done:
                return await receive()  # after the body: only a disconnect can come
            if deadline is None:
                deadline = loop.time() + self.timeout_s
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                raise BodyTimeoutError from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLargeError
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except (RequestTooLargeError, BodyTimeoutError) as exc:
            if response_started:
                raise
            error = self._too_large() if isinstance(exc, RequestTooLargeError) else self._slow()
            await error_response(path, error)(scope, receive, send)

    def _too_large(self) -> APIError:
        return APIError(
            413,
            f"Request body is larger than the server's limit of {self.max_bytes} bytes.",
            code="request_too_large",
        )

    def _slow(self) -> APIError:
        # The client is still sending: tell it to stop, the connection is not reusable.
        return APIError(
            408,
            f"The request body did not arrive within {self.timeout_s:g} s.",
            code="request_timeout",
            headers={"Connection": "close"},
        )
