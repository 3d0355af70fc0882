"""The settings of the connection pools a client makes for itself (no ``http_client`` given).

Two differ from httpx's defaults, both for many calls in flight (issue #19, measured against
the reference server's ``GET /v1/models``, client CPU per call):

* **Limits** are the official openai client's (1,000 connections, 100 kept alive). httpx's
  own (100 and 20) keep only 20 connections once more calls are in flight, so every call
  beyond them connects anew and queues for the pool: 5.6-7.0 ms per call at 256 in flight
  with httpx's limits, 2.3 ms with these (aiohttp 0.39 and 0.42: its connector waits
  cheaply).
* **Cookies** are read from a response only when it sets one. httpx hands every response to
  ``http.cookiejar``, which builds an ``email.message.Message`` of all its headers twice to
  find no ``Set-Cookie``: about 4 % of a call on the aiohttp transport (0.355 -> 0.340 ms at
  64 in flight). A response that sets cookies is read exactly as before, so a load
  balancer's sticky-session cookie still comes back on the next call.
"""

from __future__ import annotations

from http.cookiejar import CookieJar
from typing import Any

import httpx

__all__ = ["DEFAULT_LIMITS", "pool_options"]

#: The official openai client's ``DEFAULT_CONNECTION_LIMITS``.
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)

_SETS_COOKIES = ("set-cookie", "set-cookie2")


class _SetCookieJar(CookieJar):
    """A ``CookieJar`` that skips responses without a ``Set-Cookie`` header."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        # httpx passes its urllib-style wrapper, whose ``response`` is the httpx.Response;
        # anything else (another httpx version) is read in full, as the plain jar does.
        headers = getattr(getattr(response, "response", None), "headers", None)
        if isinstance(headers, httpx.Headers) and not any(
            name in headers for name in _SETS_COOKIES
        ):
            return
        super().extract_cookies(response, request)


def pool_options(**options: Any) -> dict[str, Any]:
    """The keyword arguments of a client's own ``httpx.Client`` / ``httpx.AsyncClient``:
    ``options`` (e.g. ``verify=``) over maaskit's defaults. Each pool gets its own jar."""
    return {"limits": DEFAULT_LIMITS, "cookies": _SetCookieJar(), **options}
