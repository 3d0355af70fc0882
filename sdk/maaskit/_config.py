"""Client settings: argument checking, environment variables, timeouts."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ._auth import KeySource
from ._hooks import AttemptHook
from ._retry import RetryPolicy
from .providers import Provider, get_provider

__all__ = ["ClientConfig", "SingleEndpoint", "Timeout", "check_base_url", "resolve_single_endpoint"]

# Used only for provider "openai" when neither base_url= nor an environment variable says.
OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Timeout:
    """Seconds, ``None`` for no limit.

    ``connect``, ``read``, ``write`` bound each HTTP attempt (``read`` is the wait for the
    next bytes). ``total`` bounds a whole call, retries and backoff included: no attempt
    starts after it and the last one gets only what is left. ``stream_idle`` is the longest
    wait for the next streamed chunk; keep-alive comments do not reset it.
    """

    connect: float | None = 5.0
    read: float | None = 60.0
    write: float | None = 60.0
    total: float | None = 600.0
    stream_idle: float | None = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "write", "total", "stream_idle"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"timeout {name} must be a number or None")
            if value <= 0:
                raise ValueError(f"timeout {name} must be > 0, got {value}")

    @classmethod
    def coerce(cls, value: float | Timeout | None) -> Timeout:
        """A number means: that many seconds for connect, read, write and stream_idle."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(connect=None, read=None, write=None, total=None, stream_idle=None)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"timeout must be a number, a maaskit.Timeout or None, not {value!r}")
        return cls(connect=value, read=value, write=value, total=None, stream_idle=value)

    def for_attempt(self, remaining: float | None, *, streaming: bool) -> httpx.Timeout:
        """The attempt's httpx timeouts: each limit, cut to what is left of ``total``."""
        read = self.stream_idle if streaming and self.stream_idle is not None else self.read
        limits = [self.connect, read, self.write]
        if remaining is not None:
            cut = [remaining if v is None else min(v, remaining) for v in limits]
            if cut != limits:
                connect, read, write = cut
                return httpx.Timeout(connect=connect, read=read, write=write, pool=connect)
        # Nothing is cut: the same object every time (building one per attempt showed up in
        # the per-call profile).
        return self._uncut_streaming if streaming else self._uncut

    @functools.cached_property
    def _uncut(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect, read=self.read, write=self.write, pool=self.connect
        )

    @functools.cached_property
    def _uncut_streaming(self) -> httpx.Timeout:
        read = self.stream_idle if self.stream_idle is not None else self.read
        return httpx.Timeout(connect=self.connect, read=read, write=self.write, pool=self.connect)


@dataclass(frozen=True)
class ClientConfig:
    """A single-endpoint client's settings in one place (``client.config``): the endpoint's
    provider, base URL and auth with the client's timeout, retry policy, headers and hook."""

    provider: Provider
    base_url: str
    auth: httpx.Auth | None
    timeout: Timeout
    retry: RetryPolicy
    default_headers: Mapping[str, str] = field(default_factory=dict)
    on_attempt: AttemptHook | None = None

    def __repr__(self) -> str:
        return (
            f"ClientConfig(provider={self.provider.name!r}, base_url={self.base_url!r}, "
            f"auth={self.auth!r}, timeout={self.timeout!r}, retry={self.retry!r})"
        )


def check_base_url(url: Any) -> str:
    if not isinstance(url, str):
        raise TypeError(f"base_url must be a str, got {type(url).__name__}")
    parsed = httpx.URL(url) if "://" in url else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"base_url must be an absolute http:// or https:// URL, got {url!r}")
    if parsed.userinfo:
        raise ValueError("base_url must not contain credentials; pass api_key= or auth=")
    return url.rstrip("/")


def _from_env(provider: Provider, maaskit_name: str, openai_name: str) -> str | None:
    value = os.environ.get(maaskit_name)
    if not value and provider.name == "openai":
        value = os.environ.get(openai_name)
    return value or None


@dataclass(frozen=True)
class SingleEndpoint:
    """``Client(provider=, base_url=, api_key=, auth=)`` resolved: arguments first, then
    ``MAASKIT_BASE_URL`` / ``MAASKIT_API_KEY``, then for provider ``openai``
    ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``."""

    provider: Provider
    base_url: str
    api_key: KeySource | None
    auth: httpx.Auth | None


def resolve_single_endpoint(
    *,
    provider: str | Provider,
    base_url: str | None,
    api_key: KeySource | None,
    auth: httpx.Auth | None,
) -> SingleEndpoint:
    resolved = get_provider(provider)
    if base_url is None:
        base_url = _from_env(resolved, "MAASKIT_BASE_URL", "OPENAI_BASE_URL")
    if base_url is None:
        if resolved.name != "openai":
            raise ValueError("base_url is required (or set MAASKIT_BASE_URL)")
        base_url = OPENAI_BASE_URL
    if api_key is not None and auth is not None:
        raise ValueError("pass either api_key= or auth=, not both")
    if auth is not None and not isinstance(auth, httpx.Auth):
        raise TypeError(f"auth must be an httpx.Auth, got {type(auth).__name__}")
    if api_key is None and auth is None:
        api_key = _from_env(resolved, "MAASKIT_API_KEY", "OPENAI_API_KEY")
    return SingleEndpoint(resolved, check_base_url(base_url), api_key, auth)
