"""Middleware: functions around every HTTP attempt, in the order given.

A middleware is called once per attempt (a retried or failed-over call runs the chain again,
with the attempt's number and endpoint) as ``middleware(request, call_next, attempt)``:

* ``request`` is the ``httpx.Request`` about to be sent; change its headers in place (add,
  sign) or pass another request on;
* ``call_next(request)`` runs the rest of the chain and the send, and returns the
  ``httpx.Response`` (raising ``httpx.HTTPError`` on a transport failure);
* ``attempt`` is an :class:`AttemptInfo` (endpoint name, attempt number, task, model).

It returns a response: the one ``call_next`` gave (observed, or with headers changed), or its
own without calling ``call_next`` at all (a cache, a stub, a refusal): that answer is then
treated exactly as the server's would be (an error status is retried, a 200 parsed). An
exception other than ``httpx.HTTPError`` ends the call unchanged.

Credentials are added by the endpoint's ``httpx.Auth`` after the chain, on a copy of the
request: no middleware sees the API key, and ``response.request`` is the middleware's request,
so the key cannot leak into what a middleware logs or keeps. ``on_attempt`` remains the
simplest way to observe attempts; middleware is for acting on them.

``Client(middleware=[...])`` takes plain functions; ``AsyncClient(middleware=[...])`` takes
``async`` ones (``await call_next(request)``); the wrong kind is a ``TypeError`` at
construction. ``Endpoint(middleware=[...])`` adds middleware for one backend, run inside the
client's.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "AsyncCallNext",
    "AsyncMiddleware",
    "AttemptInfo",
    "CallNext",
    "Middleware",
    "check_client_middleware",
    "check_middleware",
    "run_async_chain",
    "run_chain",
]


@dataclass(frozen=True)
class AttemptInfo:
    """What a middleware knows of the attempt: ``endpoint`` (the :class:`Endpoint`'s name),
    ``attempt`` (1-based, across endpoints), ``task`` (``"chat"``, ``"embed"``…) and
    ``model`` (as the call named it)."""

    endpoint: str
    attempt: int
    task: str
    model: str


CallNext = Callable[[httpx.Request], httpx.Response]
Middleware = Callable[[httpx.Request, CallNext, AttemptInfo], httpx.Response]
AsyncCallNext = Callable[[httpx.Request], Awaitable[httpx.Response]]
AsyncMiddleware = Callable[[httpx.Request, AsyncCallNext, AttemptInfo], Awaitable[httpx.Response]]


def _is_async(function: Any) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
        getattr(function, "__call__", None)  # noqa: B004 - an object with async __call__
    )


def check_middleware(middleware: Any, *, is_async: bool | None = None) -> tuple[Any, ...]:
    """The middleware as a tuple of callables; with ``is_async`` given, each must be an
    ``async`` function (``AsyncClient``) or must not be one (``Client``)."""
    if middleware is None:
        return ()
    if isinstance(middleware, (str, bytes)) or not isinstance(middleware, Sequence):
        raise TypeError("middleware must be a list of callables")
    for index, item in enumerate(middleware):
        if not callable(item):
            raise TypeError(f"middleware[{index}] is not callable: {item!r}")
        if is_async is True and not _is_async(item):
            raise TypeError(
                f"middleware[{index}] ({item!r}) must be an async function for an AsyncClient"
            )
        if is_async is False and _is_async(item):
            raise TypeError(
                f"middleware[{index}] ({item!r}) is an async function; a Client needs plain "
                "functions (use it with AsyncClient)"
            )
    return tuple(middleware)


def check_client_middleware(
    middleware: Any, endpoints: Sequence[Any], *, is_async: bool
) -> tuple[Any, ...]:
    """A client's own middleware, and its endpoints' checked against its kind."""
    checked = check_middleware(middleware, is_async=is_async)
    for endpoint in endpoints:
        try:
            check_middleware(endpoint.middleware, is_async=is_async)
        except TypeError as exc:
            raise TypeError(f"endpoint {endpoint.name!r}: {exc}") from None
    return checked


def _copy(request: httpx.Request) -> httpx.Request:
    # The auth flow writes credentials onto the request it is given: give it a copy, so the
    # middleware's request never holds them. maaskit's bodies are bytes, read already.
    return httpx.Request(
        request.method,
        request.url,
        headers=request.headers,
        content=request.content,
        extensions=request.extensions,
    )


def _checked(response: Any, index: int) -> httpx.Response:
    if not isinstance(response, httpx.Response):
        raise TypeError(
            f"middleware[{index}] returned {type(response).__name__}, not an httpx.Response"
        )
    return response


def run_chain(
    middleware: Sequence[Middleware],
    request: httpx.Request,
    info: AttemptInfo,
    send: Callable[[httpx.Request], httpx.Response],
) -> httpx.Response:
    """``request`` through ``middleware`` to ``send``; the response has ``.request`` set to
    the request the innermost middleware passed on (or the first one, if one answered)."""

    def step(index: int, current: httpx.Request) -> httpx.Response:
        if index == len(middleware):
            response = send(_copy(current))
            response.request = current
            return response

        def call_next(next_request: httpx.Request) -> httpx.Response:
            return step(index + 1, next_request)

        response = _checked(middleware[index](current, call_next, info), index)
        if response._request is None:  # an answer the middleware made itself
            response.request = current
        return response

    return step(0, request)


async def run_async_chain(
    middleware: Sequence[AsyncMiddleware],
    request: httpx.Request,
    info: AttemptInfo,
    send: Callable[[httpx.Request], Awaitable[httpx.Response]],
) -> httpx.Response:
    """The ``async`` form of :func:`run_chain`."""

    async def step(index: int, current: httpx.Request) -> httpx.Response:
        if index == len(middleware):
            response = await send(_copy(current))
            response.request = current
            return response

        async def call_next(next_request: httpx.Request) -> httpx.Response:
            return await step(index + 1, next_request)

        response = _checked(await middleware[index](current, call_next, info), index)
        if response._request is None:
            response.request = current
        return response

    return await step(0, request)
