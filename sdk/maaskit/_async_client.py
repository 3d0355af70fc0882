"""``maaskit.AsyncClient``: the asynchronous public face, call for call like ``Client``."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, overload

import httpx

from ._async_transport import AsyncTransport
from ._auth import KeySource
from ._base_client import _UNSET, DEFAULT, BaseClient, MessageLike, check_tags
from ._breaker import BreakerPolicy
from ._call import Core
from ._call_options import split_call_options
from ._config import Timeout
from ._endpoint import Budget, CertTypes, Endpoint, VerifyTypes
from ._hooks import AttemptHook
from ._privacy import ChunkRestorer, amask_request, restore_result
from ._retry import RetryPolicy
from ._retry_budget import RetryBudget
from ._streaming import AsyncStream
from ._tasks import CHAT, CLASSIFY, COMPLETE, EMBED, MODELS, ModelsRequest
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

_MODELS_REQUEST = ModelsRequest()


class AsyncClient(BaseClient[httpx.AsyncClient]):
    """An asynchronous client for one MaaS endpoint, or a router over several; safe to
    share between tasks. Parameters as for :class:`Client`, with these differences:

    Parameters:
        http_client: An ``httpx.AsyncClient`` used as is; not closed by ``aclose()``.
        sleep: Replaces ``asyncio.sleep`` between retries.
    """

    def __init__(
        self,
        *,
        provider: str | Provider | None = None,
        base_url: str | None = None,
        api_key: KeySource | None = None,
        auth: httpx.Auth | None = None,
        verify: VerifyTypes | None = None,
        cert: CertTypes | None = None,
        endpoints: Sequence[Endpoint] | None = None,
        routing: Any = "priority",
        min_quality: float | None = None,
        breaker: BreakerPolicy | None = DEFAULT,
        wait_for_recovery: float | None = None,
        retry_budget: RetryBudget | None = DEFAULT,
        budget: Budget | None = None,
        timeout: float | Timeout | None = Timeout(),  # noqa: B008  # frozen, so safe to share
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        on_attempt: AttemptHook | None = None,
        require_tls: bool = False,
        privacy: Any = None,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError("http_client must be an httpx.AsyncClient (use Client for sync)")
        self._setup(
            provider=provider,
            base_url=base_url,
            api_key=api_key,
            auth=auth,
            endpoints=endpoints,
            routing=routing,
            min_quality=min_quality,
            breaker=breaker,
            wait_for_recovery=wait_for_recovery,
            retry_budget=retry_budget,
            budget=budget,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            default_headers=default_headers,
            on_attempt=on_attempt,
            verify=verify,
            cert=cert,
            require_tls=require_tls,
            clock=clock,
            http_client=http_client,
            privacy=privacy,
            make_http_client=httpx.AsyncClient,
        )
        self._sleep = sleep
        self._transport = AsyncTransport(self._core, self._http_for, sleep=sleep)

    @classmethod
    def from_config(cls, path: str | os.PathLike[str], **overrides: Any) -> AsyncClient:
        """A client from a TOML file (see ``maaskit.load_config``); keyword arguments
        override the file's client options (``sleep=``, ``http_client=``…)."""
        return cls(**{**cls._settings_from_file(path), **overrides})

    def _copy(self, core: Core) -> AsyncClient:
        copy = object.__new__(AsyncClient)
        copy._single = self._single
        copy._privacy = self._privacy
        copy._core = core
        copy._http_clients = self._http_clients
        copy._owned_http_clients = []  # the original owns the pools
        copy._sleep = self._sleep
        copy._transport = AsyncTransport(core, copy._http_for, sleep=self._sleep)
        return copy

    def with_options(
        self,
        *,
        timeout: float | Timeout | None = _UNSET,
        max_retries: int = _UNSET,
        retry_policy: RetryPolicy = _UNSET,
        default_headers: Mapping[str, str] = _UNSET,
        on_attempt: AttemptHook | None = _UNSET,
        provider: str | Provider = _UNSET,
        base_url: str = _UNSET,
        api_key: KeySource = _UNSET,
        auth: httpx.Auth = _UNSET,
    ) -> AsyncClient:
        """A copy with some settings changed, sharing this client's connection pools,
        routing state and ledger. ``provider``, ``base_url``, ``api_key`` and ``auth`` can
        change on a one-endpoint client only."""
        return self._copy(
            self._derive_core(
                timeout=timeout,
                max_retries=max_retries,
                retry_policy=retry_policy,
                default_headers=default_headers,
                on_attempt=on_attempt,
                provider=provider,
                base_url=base_url,
                api_key=api_key,
                auth=auth,
            )
        )

    async def aclose(self) -> None:
        for http_client in self._owned_http_clients:
            await http_client.aclose()

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
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> ChatResponse: ...

    @overload
    async def chat(
        self,
        *,
        model: str,
        messages: Sequence[MessageLike],
        stream: Literal[True],
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> AsyncStream[ChatChunk]: ...

    async def chat(
        self,
        *,
        model: str,
        messages: Sequence[MessageLike],
        stream: bool = False,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> ChatResponse | AsyncStream[ChatChunk]:
        """Chat completion. ``tags`` limits the call to endpoints with those tags. The
        per-call options ``timeout``, ``max_retries``, ``extra_headers``, ``extra_query``,
        ``extra_body`` and ``idempotency_key`` are the SDK's and are never sent as body
        fields; other keywords (``max_tokens``, ``temperature``, ``stream_options``…) go into
        the request body unchanged."""
        params, per_call = split_call_options(params)
        request = self._chat_request(model, messages, stream, params)
        session = self._session(privacy)
        if session is not None:
            request = await amask_request(session, request)
        restorer = ChunkRestorer(session) if session is not None else None
        if stream:
            return await self._transport.stream(
                CHAT, request, tags=check_tags(tags), per_call=per_call, restorer=restorer
            )
        result = await self._transport.request(
            CHAT, request, tags=check_tags(tags), per_call=per_call
        )
        if session is not None:
            restore_result(session, result)
        return result

    @overload
    async def complete(
        self,
        *,
        model: str,
        prompt: str | Sequence[str],
        stream: Literal[False] = False,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> Completion: ...

    @overload
    async def complete(
        self,
        *,
        model: str,
        prompt: str | Sequence[str],
        stream: Literal[True],
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> AsyncStream[CompletionChunk]: ...

    async def complete(
        self,
        *,
        model: str,
        prompt: str | Sequence[str],
        stream: bool = False,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> Completion | AsyncStream[CompletionChunk]:
        """Text completion; ``tags`` and extra keywords as for ``chat``."""
        params, per_call = split_call_options(params)
        request = self._complete_request(model, prompt, stream, params)
        session = self._session(privacy)
        if session is not None:
            request = await amask_request(session, request)
        restorer = ChunkRestorer(session) if session is not None else None
        if stream:
            return await self._transport.stream(
                COMPLETE, request, tags=check_tags(tags), per_call=per_call, restorer=restorer
            )
        result = await self._transport.request(
            COMPLETE, request, tags=check_tags(tags), per_call=per_call
        )
        if session is not None:
            restore_result(session, result)
        return result

    async def embed(
        self,
        *,
        model: str,
        input: str | Sequence[str],
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> EmbeddingResponse:
        """Embeddings; ``encoding_format="base64"`` is decoded to floats as well."""
        params, per_call = split_call_options(params)
        request = self._embed_request(model, input, params)
        session = self._session(privacy)
        if session is not None:
            request = await amask_request(session, request)
        return await self._transport.request(
            EMBED, request, tags=check_tags(tags), per_call=per_call
        )

    async def classify(
        self,
        *,
        model: str,
        input: str | Sequence[str],
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> ClassificationResponse:
        """Labels with scores for each input text."""
        params, per_call = split_call_options(params)
        request = self._classify_request(model, input, params)
        session = self._session(privacy)
        if session is not None:
            request = await amask_request(session, request)
        return await self._transport.request(
            CLASSIFY, request, tags=check_tags(tags), per_call=per_call
        )

    async def models(self, *, tags: Mapping[str, str] | None = None) -> list[ModelInfo]:
        """The models of the first endpoint that answers (a router's first candidate)."""
        self._check_task(MODELS)
        found = await self._transport.request(MODELS, _MODELS_REQUEST, tags=check_tags(tags))
        return found.data
