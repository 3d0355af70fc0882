"""``httpx.AsyncClient`` on aiohttp (``httpx-aiohttp``), with httpx's own exception types.

httpx-aiohttp 0.2.0 maps aiohttp's errors coarsely: a refused connection and a server that
closed the connection mid-request both become ``httpx.ConnectTimeout`` (its map matches
``ClientConnectionError`` first), which maaskit would report as a timeout, and some aiohttp
errors pass through unmapped. The errors are mapped again here, from the aiohttp error that
caused them, to what httpx's own transport raises in the same situation, so retries and error
types do not depend on the transport. Imported only with ``http_transport="aiohttp"``.

One difference remains, aiohttp's own: when the server closes the connection before answering
an idempotent request (``GET``, e.g. ``models()``), aiohttp sends it once more on a new
connection before failing, outside maaskit's attempt count. A ``POST`` is never sent again
(tests/e2e/test_async_transports.py checks both transports).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport, HttpxAiohttpClient

__all__ = ["aiohttp_client"]

# Most specific first: aiohttp's timeout errors are also ClientConnectionErrors, and
# ClientConnectorError is a ClientOSError.
_KINDS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (TimeoutError, httpx.PoolTimeout),  # aiohttp's total connect timeout: waiting for the pool
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientError, httpx.TransportError),
)


def _as_httpx(exc: BaseException) -> httpx.TransportError | None:
    """The httpx error for ``exc`` (an aiohttp error, or httpx-aiohttp's mapping of one)."""
    cause = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
    if cause is None:
        return None
    for aiohttp_kind, httpx_kind in _KINDS:
        if isinstance(cause, aiohttp_kind):
            if type(exc) is httpx_kind:
                return None  # already right
            mapped = httpx_kind(str(cause) or type(cause).__name__)
            mapped.__cause__ = cause
            return mapped
    return None


class _Body(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except (httpx.TransportError, aiohttp.ClientError, TimeoutError) as exc:
            mapped = _as_httpx(exc)
            if mapped is None:
                raise
            raise mapped from exc.__cause__ or exc

    async def aclose(self) -> None:
        await self._stream.aclose()


class _Transport(AiohttpTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except (httpx.TransportError, aiohttp.ClientError, TimeoutError) as exc:
            mapped = _as_httpx(exc)
            if mapped is None:
                raise
            raise mapped from exc.__cause__ or exc
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Body(response.stream)
        return response


class _Client(HttpxAiohttpClient):
    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
        transport = kwargs.pop("transport", None)
        if transport is not None:
            return transport  # type: ignore[no-any-return]
        kwargs.pop("http2", None)  # aiohttp speaks HTTP/1.1 only
        return _Transport(*args, **kwargs)


def aiohttp_client(**options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` on aiohttp; ``verify=<SSLContext>`` (one per endpoint, see
    ``_tls``) becomes the aiohttp connector's ssl context."""
    return _Client(**options)
