"""415 for request bodies that are not JSON (or, on KServe routes, the binary tensor format).

Without this check a web page could make a browser POST to a developer's open local server:
``text/plain``, form and multipart bodies are the "simple" requests a browser sends
cross-origin without asking first (no CORS preflight), and the server read them as JSON all
the same. JSON bodies must say ``application/json`` (or a ``+json`` type). A body with no
Content-Type at all is refused too (a page can send one from a typeless ``Blob``), except on
``/v2`` (KServe): ``tritonclient`` sends its JSON and binary requests without one, as Triton
accepts. Requests without a body need no Content-Type. The server sends no CORS headers, so
pages on other origins cannot read any answer either.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import APIError, error_response

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_KSERVE_PREFIX = "/v2/"
_KSERVE_TYPES = frozenset({"application/octet-stream", ""})


def media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers


def accepted(path: str, headers: Headers) -> bool:
    kind = media_type(headers)
    if kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json")):
        return True
    if path.startswith(_KSERVE_PREFIX) and kind in _KSERVE_TYPES:
        return True
    return not kind and not _has_body(headers)


class ContentTypeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = str(scope.get("path", ""))
        if accepted(path, headers):
            await self.app(scope, receive, send)
            return
        expected = "application/json"
        if path.startswith(_KSERVE_PREFIX):
            expected += " or application/octet-stream"
        sent = media_type(headers) or "no Content-Type"
        error = APIError(
            415,
            f"Unsupported Content-Type {sent!r}: send the body as {expected}.",
            param="Content-Type",
            code="unsupported_media_type",
        )
        await error_response(path, error)(scope, receive, send)
