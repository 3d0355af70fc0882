"""``maaskit.AsyncClient``: the asynchronous public face, call for call like ``Client``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, overload

import httpx

from ._async_transport import AsyncTransport
from ._auth import KeySource
from ._base_client import BaseClient, MessageLike
from ._config import Timeout
from ._hooks import AttemptHook
from ._retry import RetryPolicy
from ._streaming import AsyncStream
from ._tasks import CHAT, CLASSIFY, COMPLETE, EMBED, MODELS
from .providers import Provider
from .types import (
    ChatChunk,
    ChatResponse,
    ClassificationResponse,
    Completion,
    CompletionChunk,
    EmbeddingResponse,
    ModelInfo,
)

__all__ = ["AsyncClient"]


class AsyncClient(BaseClient):
    """An asynchronous client for one MaaS endpoint; safe to share between tasks.

    ``sleep`` replaces ``asyncio.sleep`` between retries (tests pass a recorder to keep the
    suite fast and check the computed delays). A passed ``http_client`` is used as is (its
    proxies, TLS and limits apply) and is not closed by ``aclose()``.
    """

    def __init__(
        self,
        *,
        provider: str | Provider = "openai",
        base_url: str | None = None,
        api_key: KeySource | None = None,
        auth: httpx.Auth | None = None,
        timeout: float | Timeout | None = Timeout(),  # noqa: B008  # frozen, so safe to share
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        on_attempt: AttemptHook | None = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError("http_client must be an httpx.AsyncClient (use Client for sync)")
        config = self._configure(
            provider=provider,
            base_url=base_url,
            api_key=api_key,
            auth=auth,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            default_headers=default_headers,
            on_attempt=on_attempt,
        )
        self._owns_http_client = http_client is None
        self._http_client = http_client if http_client is not None else httpx.AsyncClient()
        self._sleep = sleep
        self._transport = AsyncTransport(config, self._http_client, sleep=sleep)

    def with_options(self, **options: Any) -> AsyncClient:
        """A copy with some settings changed, sharing this client's connection pool."""
        return AsyncClient(
            **self._merged_options(options), http_client=self._http_client, sleep=self._sleep
        )

    async def aclose(self) -> None:
        if self._owns_http_client:
            await self._http_client.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @overload
    async def chat(
        self,
        *,
        model: str,
        messages: Sequence[MessageLike],
        stream: Literal[False] = False,
        **params: Any,
    ) -> ChatResponse: ...

    @overload
    async def chat(
        self, *, model: str, messages: Sequence[MessageLike], stream: Literal[True], **params: Any
    ) -> AsyncStream[ChatChunk]: ...

    async def chat(
        self, *, model: str, messages: Sequence[MessageLike], stream: bool = False, **params: Any
    ) -> ChatResponse | AsyncStream[ChatChunk]:
        """Chat completion. Extra keywords (``max_tokens``, ``temperature``,
        ``stream_options``…) go into the request body unchanged."""
        request = self._chat_request(model, messages, stream, params)
        if stream:
            return await self._transport.stream(CHAT, request)
        return await self._transport.request(CHAT, request)

    @overload
    async def complete(
        self,
        *,
        model: str,
        prompt: str | Sequence[str],
        stream: Literal[False] = False,
        **params: Any,
    ) -> Completion: ...

    @overload
    async def complete(
        self, *, model: str, prompt: str | Sequence[str], stream: Literal[True], **params: Any
    ) -> AsyncStream[CompletionChunk]: ...

    async def complete(
        self, *, model: str, prompt: str | Sequence[str], stream: bool = False, **params: Any
    ) -> Completion | AsyncStream[CompletionChunk]:
        request = self._complete_request(model, prompt, stream, params)
        if stream:
            return await self._transport.stream(COMPLETE, request)
        return await self._transport.request(COMPLETE, request)

    async def embed(
        self, *, model: str, input: str | Sequence[str], **params: Any
    ) -> EmbeddingResponse:
        """Embeddings; ``encoding_format="base64"`` is decoded to floats as well."""
        return await self._transport.request(EMBED, self._embed_request(model, input, params))

    async def classify(
        self, *, model: str, input: str | Sequence[str], **params: Any
    ) -> ClassificationResponse:
        return await self._transport.request(CLASSIFY, self._classify_request(model, input, params))

    async def models(self) -> list[ModelInfo]:
        return (await self._transport.request(MODELS, self._models_request())).data
