"""``maaskit.Client``: the synchronous public face."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, overload

import httpx

from ._auth import KeySource
from ._base_client import BaseClient, MessageLike
from ._config import Timeout
from ._hooks import AttemptHook
from ._retry import RetryPolicy
from ._streaming import Stream
from ._tasks import CHAT, CLASSIFY, COMPLETE, EMBED, MODELS
from ._transport import SyncTransport
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

__all__ = ["Client"]


class Client(BaseClient):
    """A synchronous client for one MaaS endpoint.

    ``sleep`` replaces ``time.sleep`` between retries (tests pass a recorder to keep the
    suite fast and check the computed delays). A passed ``http_client`` is used as is (its
    proxies, TLS and limits apply) and is not closed by ``close()``.
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
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise TypeError("http_client must be an httpx.Client (use AsyncClient for async)")
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
        self._http_client = http_client if http_client is not None else httpx.Client()
        self._sleep = sleep
        self._transport = SyncTransport(config, self._http_client, sleep=sleep)

    def with_options(self, **options: Any) -> Client:
        """A copy with some settings changed, sharing this client's connection pool."""
        return Client(
            **self._merged_options(options), http_client=self._http_client, sleep=self._sleep
        )

    def close(self) -> None:
        if self._owns_http_client:
            self._http_client.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @overload
    def chat(
        self,
        *,
        model: str,
        messages: Sequence[MessageLike],
        stream: Literal[False] = False,
        **params: Any,
    ) -> ChatResponse: ...

    @overload
    def chat(
        self, *, model: str, messages: Sequence[MessageLike], stream: Literal[True], **params: Any
    ) -> Stream[ChatChunk]: ...

    def chat(
        self, *, model: str, messages: Sequence[MessageLike], stream: bool = False, **params: Any
    ) -> ChatResponse | Stream[ChatChunk]:
        """Chat completion. Extra keywords (``max_tokens``, ``temperature``,
        ``stream_options``…) go into the request body unchanged."""
        request = self._chat_request(model, messages, stream, params)
        if stream:
            return self._transport.stream(CHAT, request)
        return self._transport.request(CHAT, request)

    @overload
    def complete(
        self,
        *,
        model: str,
        prompt: str | Sequence[str],
        stream: Literal[False] = False,
        **params: Any,
    ) -> Completion: ...

    @overload
    def complete(
        self, *, model: str, prompt: str | Sequence[str], stream: Literal[True], **params: Any
    ) -> Stream[CompletionChunk]: ...

    def complete(
        self, *, model: str, prompt: str | Sequence[str], stream: bool = False, **params: Any
    ) -> Completion | Stream[CompletionChunk]:
        request = self._complete_request(model, prompt, stream, params)
        if stream:
            return self._transport.stream(COMPLETE, request)
        return self._transport.request(COMPLETE, request)

    def embed(self, *, model: str, input: str | Sequence[str], **params: Any) -> EmbeddingResponse:
        """Embeddings; ``encoding_format="base64"`` is decoded to floats as well."""
        return self._transport.request(EMBED, self._embed_request(model, input, params))

    def classify(
        self, *, model: str, input: str | Sequence[str], **params: Any
    ) -> ClassificationResponse:
        return self._transport.request(CLASSIFY, self._classify_request(model, input, params))

    def models(self) -> list[ModelInfo]:
        return self._transport.request(MODELS, self._models_request()).data
