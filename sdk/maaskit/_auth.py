"""Authentication as ``httpx.Auth`` flows. Secrets are ``SecretStr``: never in a repr."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TypeAlias
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from ._exceptions import AuthenticationError

__all__ = ["BearerAuth", "HeaderAuth", "KeySource", "OAuth2ClientCredentials", "SecretAuth"]

KeySource: TypeAlias = str | SecretStr | Callable[[], str | SecretStr]

# Marks the token endpoint's requests, whose answers the flow reads (and no others).
_TOKEN_REQUEST = "maaskit.oauth2_token_request"


def _secret(source: KeySource) -> SecretStr | Callable[[], str | SecretStr]:
    if isinstance(source, SecretStr):
        return source
    if isinstance(source, str):
        if not source:
            raise ValueError("an API key must not be empty")
        return SecretStr(source)
    if callable(source):
        return source
    raise TypeError(f"an API key must be a str, SecretStr or callable, got {type(source).__name__}")


class SecretAuth(httpx.Auth):
    """An auth flow that knows its secrets, so maaskit can scrub them from error text."""

    def secrets(self) -> list[str]:
        return []


class HeaderAuth(SecretAuth):
    """Send a key in one header, e.g. ``HeaderAuth("api-key", key)`` for Azure OpenAI.

    ``key`` may be a callable: it is called for every request, so a rotated key is picked up.
    """

    def __init__(self, header: str, key: KeySource, *, prefix: str = "") -> None:
        if not header:
            raise ValueError("header name must not be empty")
        self.header = header
        self.prefix = prefix
        self._key = _secret(key)
        self._last: str | None = None

    def current_key(self) -> str:
        key = self._key() if callable(self._key) else self._key
        value = key.get_secret_value() if isinstance(key, SecretStr) else key
        if not isinstance(value, str) or not value:
            raise ValueError("the API key callable returned an empty or non-string key")
        self._last = value
        return value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header] = f"{self.prefix}{self.current_key()}"
        yield request

    def secrets(self) -> list[str]:
        if isinstance(self._key, SecretStr):
            return [self._key.get_secret_value()]
        return [self._last] if self._last else []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(header={self.header!r}, key='**********')"


class BearerAuth(HeaderAuth):
    """``Authorization: Bearer <key>``."""

    def __init__(self, key: KeySource) -> None:
        super().__init__("Authorization", key, prefix="Bearer ")

    def __repr__(self) -> str:
        return "BearerAuth(key='**********')"


class OAuth2ClientCredentials(SecretAuth):
    """OAuth2 client-credentials grant: fetch a token, cache it until shortly before it
    expires, and fetch a fresh one once if the API answers 401 (the token was revoked).

    The token request goes through the same httpx client as the call (httpx auth flows may
    send extra requests), so it works unchanged with ``Client`` and ``AsyncClient``.

    Only the token endpoint's answers are read inside the flow. httpx's
    ``requires_response_body`` would read every response, the API's too, so a streamed
    answer arrived only once the server had sent all of it.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | SecretStr,
        *,
        scope: str | None = None,
        expiry_margin: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token_url.startswith(("http://", "https://")):
            raise ValueError(f"token_url must start with http:// or https://, got {token_url!r}")
        if not client_id:
            raise ValueError("client_id must not be empty")
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = (
            client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret)
        )
        self.scope = scope
        self.expiry_margin = expiry_margin
        self._clock = clock
        self._token: SecretStr | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def secrets(self) -> list[str]:
        found = [self._client_secret.get_secret_value()]
        if self._token is not None:
            found.append(self._token.get_secret_value())
        return found

    def _valid_token(self) -> str | None:
        with self._lock:
            if self._token is not None and self._clock() < self._expires_at:
                return self._token.get_secret_value()
            return None

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        # RFC 6749 §2.3.1: HTTP Basic with form-encoded id and secret.
        pair = f"{quote(self.client_id)}:{quote(self._client_secret.get_secret_value())}"
        basic = base64.b64encode(pair.encode()).decode("ascii")
        return httpx.Request(
            "POST",
            self.token_url,
            data=form,
            headers={"Accept": "application/json", "Authorization": f"Basic {basic}"},
            extensions={_TOKEN_REQUEST: True},
        )

    def _store_token(self, response: httpx.Response) -> str:
        if response.status_code != 200:
            raise AuthenticationError(
                f"the token endpoint answered {response.status_code}",
                status_code=response.status_code,
                request_id=response.headers.get("x-request-id"),
                endpoint=f"POST {self.token_url}",
                attempts=1,
            )
        try:
            payload = response.json()
            token = str(payload["access_token"])
            lifetime = float(payload.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthenticationError(
                "the token endpoint answered without a usable access_token",
                status_code=response.status_code,
                endpoint=f"POST {self.token_url}",
                attempts=1,
            ) from exc
        with self._lock:
            self._token = SecretStr(token)
            self._expires_at = self._clock() + max(lifetime - self.expiry_margin, 0.0)
            self.tokens_fetched += 1
        return token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _is_token_response(self, response: httpx.Response) -> bool:
        return response.request.extensions.get(_TOKEN_REQUEST) is True

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        flow = self.auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            if self._is_token_response(response):
                response.read()
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self.auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            if self._is_token_response(response):
                await response.aread()
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._valid_token()
        if token is None:
            token = self._store_token((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self.invalidate()
            token = self._store_token((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
