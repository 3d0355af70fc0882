"""``maaskit_mock`` for clients on ``httpx2`` (the official ``openai`` client from version 3).

respx patches ``httpx`` (and ``httpcore``); ``httpx2`` has transports of its own, so its
requests never reach respx. While the mock is active, the two httpx2 transport classes answer
requests to the mock host from the same respx router (so ``mock.requests``, route call counts
and ``errors=`` work the same for every client), converting each request and response between
the two libraries; requests to any other host go to the real transport, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import httpx
import respx

__all__ = ["intercept_httpx2"]

# Dropped from a mocked answer: the body handed over is already decoded, and httpx2 sets the
# length of the body it is given.
_HOP_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


def _as_httpx(request: Any, body: bytes) -> httpx.Request:
    return httpx.Request(
        request.method, str(request.url), headers=list(request.headers.raw), content=body
    )


def _as_httpx2(httpx2: Any, answer: httpx.Response) -> Any:
    headers = [(k, v) for k, v in answer.headers.raw if k.decode().lower() not in _HOP_HEADERS]
    return httpx2.Response(answer.status_code, headers=headers, content=answer.content)


def _as_httpx2_error(httpx2: Any, exc: httpx.TransportError, request: Any) -> Exception:
    # The same exception class by name (ConnectError, ReadTimeout…), so a client's retry rules
    # treat a mocked failure as they would a real one.
    kind = getattr(httpx2, type(exc).__name__, httpx2.TransportError)
    return kind(str(exc), request=request)  # type: ignore[no-any-return]


@contextmanager
def intercept_httpx2(router: respx.MockRouter, host: str) -> Iterator[bool]:
    """Route httpx2 requests to ``host`` through ``router``; yields whether httpx2 is
    installed (without it there is nothing to intercept)."""
    try:
        import httpx2
    except ImportError:
        yield False
        return
    sync_send = httpx2.HTTPTransport.handle_request
    async_send = httpx2.AsyncHTTPTransport.handle_async_request

    def handle_request(self: Any, request: Any) -> Any:
        if request.url.host != host:
            return sync_send(self, request)
        try:
            answer = router.handler(_as_httpx(request, request.read()))
        except httpx.TransportError as exc:
            raise _as_httpx2_error(httpx2, exc, request) from exc
        answer.read()
        return _as_httpx2(httpx2, answer)

    async def handle_async_request(self: Any, request: Any) -> Any:
        if request.url.host != host:
            return await async_send(self, request)
        try:
            answer = await router.async_handler(_as_httpx(request, await request.aread()))
        except httpx.TransportError as exc:
            raise _as_httpx2_error(httpx2, exc, request) from exc
        await answer.aread()
        return _as_httpx2(httpx2, answer)

    with ExitStack() as stack:
        stack.enter_context(
            mock.patch.object(httpx2.HTTPTransport, "handle_request", handle_request)
        )
        stack.enter_context(
            mock.patch.object(
                httpx2.AsyncHTTPTransport, "handle_async_request", handle_async_request
            )
        )
        yield True
