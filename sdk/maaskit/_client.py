"""``maaskit.Client``: the synchronous public face."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, overload

import httpx

from ._auth import KeySource
from ._base_client import _UNSET, DEFAULT, BaseClient, MessageLike, check_tags
from ._breaker import BreakerPolicy
from ._call import Core
from ._call_options import split_call_options
from ._config import Timeout
from ._endpoint import Budget, CertTypes, Endpoint, VerifyTypes
from ._hooks import AttemptHook
from ._privacy import ChunkRestorer, mask_request, restore_result
from ._retry import RetryPolicy
from ._retry_budget import RetryBudget
from ._streaming import Stream
from ._tasks import CHAT, CLASSIFY, COMPLETE, EMBED, MODELS, ModelsRequest
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

_MODELS_REQUEST = ModelsRequest()


class Client(BaseClient[httpx.Client]):
    """A synchronous client for one MaaS endpoint, or a router over several.

    One endpoint: ``Client(provider="openai", base_url=..., api_key=...)``. Several:
    ``Client(endpoints=[Endpoint(...), ...], routing="cheapest")``; each call then goes to
    the best endpoint that can serve it and fails over down the list.

    Parameters:
        provider: ``"openai"`` (default), ``"hf"``, ``"kserve"``, ``"ollama"`` or a
            ``Provider``; one-endpoint clients only.
        base_url: The endpoint's URL; else ``MAASKIT_BASE_URL`` (or ``OPENAI_BASE_URL`` for
            provider ``openai``, then OpenAI's own URL).
        api_key: Bearer key (str, ``SecretStr`` or a callable); else ``MAASKIT_API_KEY`` (or
            ``OPENAI_API_KEY`` for provider ``openai``).
        auth: Any ``httpx.Auth`` instead of ``api_key``.
        verify: TLS verification for the one endpoint: ``True``, ``False``, a CA bundle path
            or an ``ssl.SSLContext``.
        cert: Client certificate for mutual TLS: a file or ``(certfile, keyfile[, password])``.
        endpoints: Several :class:`Endpoint`\\ s instead of the five settings above.
        routing: ``"priority"`` (default: in order), ``"round_robin"`` (weighted),
            ``"least_busy"``, ``"cheapest"``, ``"fastest"``, ``"best_value"`` or a callable
            ``(candidates, request) -> ordered candidates``.
        min_quality: The quality floor of ``"best_value"``.
        breaker: A :class:`BreakerPolicy`, or ``None`` for no circuit breakers. Default: on
            with ``endpoints=``, off for one endpoint.
        wait_for_recovery: Seconds a call may wait, when every candidate's breaker is open,
            for the earliest to be probed again; ``None`` raises ``NoEndpointAvailable``.
        retry_budget: A :class:`RetryBudget` limiting retries client-wide, or ``None``.
            Default: on with ``endpoints=``, off for one endpoint.
        budget: A :class:`Budget`: calls that would overspend raise ``BudgetExceededError``.
        timeout: Seconds or a :class:`Timeout` (connect, read, write, total, stream idle).
        max_retries: Retries after the first attempt (default 2): at most
            ``max_retries + 1`` attempts per call across all endpoints.
        retry_policy: A :class:`RetryPolicy` for backoff and which failures are retried.
        default_headers: Headers sent with every request.
        on_attempt: Called with an :class:`AttemptEvent` after every HTTP attempt.
        privacy: A ``maaskit.privacy.Masker`` (or one ``MaskSession`` for a conversation):
            every outgoing text (messages, prompts, inputs) is masked before it leaves the
            process and answers (streams too) get the values back. Per call, ``privacy=``
            overrides it (``False``: off for that call).
        require_tls: Refuse, at construction, an endpoint that would send credentials over
            plain ``http://`` to a non-loopback host (otherwise a warning is logged).
        http_client: An ``httpx.Client`` used as is (proxies, TLS, limits) for endpoints
            without TLS settings of their own; not closed by ``close()``.
        sleep: Replaces ``time.sleep`` between retries (tests pass a recorder).
        clock: Replaces ``time.monotonic`` for breakers, budgets and latencies (tests pass a
            fake clock).
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
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise TypeError("http_client must be an httpx.Client (use AsyncClient for async)")
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
            make_http_client=httpx.Client,
        )
        self._sleep = sleep
        self._transport = SyncTransport(self._core, self._http_for, sleep=sleep)

    @classmethod
    def from_config(cls, path: str | os.PathLike[str], **overrides: Any) -> Client:
        """A client from a TOML file (see ``maaskit.load_config``); keyword arguments
        override the file's client options (``sleep=``, ``http_client=``…)."""
        return cls(**{**cls._settings_from_file(path), **overrides})

    def _copy(self, core: Core) -> Client:
        copy = object.__new__(Client)
        copy._single = self._single
        copy._privacy = self._privacy
        copy._core = core
        copy._http_clients = self._http_clients
        copy._owned_http_clients = []  # the original owns the pools
        copy._sleep = self._sleep
        copy._transport = SyncTransport(core, copy._http_for, sleep=self._sleep)
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
    ) -> Client:
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

    def close(self) -> None:
        for http_client in self._owned_http_clients:
            http_client.close()

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
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> ChatResponse: ...

    @overload
    def chat(
        self,
        *,
        model: str,
        messages: Sequence[MessageLike],
        stream: Literal[True],
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> Stream[ChatChunk]: ...

    def chat(
        self,
        *,
        model: str,
        messages: Sequence[MessageLike],
        stream: bool = False,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> ChatResponse | Stream[ChatChunk]:
        """Chat completion. ``tags`` limits the call to endpoints with those tags. The
        per-call options ``timeout``, ``max_retries``, ``extra_headers``, ``extra_query``,
        ``extra_body`` and ``idempotency_key`` are the SDK's and are never sent as body
        fields; other keywords (``max_tokens``, ``temperature``, ``stream_options``…) go into
        the request body unchanged."""
        params, per_call = split_call_options(params)
        request = self._chat_request(model, messages, stream, params)
        session = self._session(privacy)
        if session is not None:
            request = mask_request(session, request)
        restorer = ChunkRestorer(session) if session is not None else None
        if stream:
            return self._transport.stream(
                CHAT, request, tags=check_tags(tags), per_call=per_call, restorer=restorer
            )
        result = self._transport.request(CHAT, request, tags=check_tags(tags), per_call=per_call)
        if session is not None:
            restore_result(session, result)
        return result

    @overload
    def complete(
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
    def complete(
        self,
        *,
        model: str,
        prompt: str | Sequence[str],
        stream: Literal[True],
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> Stream[CompletionChunk]: ...

    def complete(
        self,
        *,
        model: str,
        prompt: str | Sequence[str],
        stream: bool = False,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        **params: Any,
    ) -> Completion | Stream[CompletionChunk]:
        """Text completion; ``tags`` and extra keywords as for ``chat``."""
        params, per_call = split_call_options(params)
        request = self._complete_request(model, prompt, stream, params)
        session = self._session(privacy)
        if session is not None:
            request = mask_request(session, request)
        restorer = ChunkRestorer(session) if session is not None else None
        if stream:
            return self._transport.stream(
                COMPLETE, request, tags=check_tags(tags), per_call=per_call, restorer=restorer
            )
        result = self._transport.request(
            COMPLETE, request, tags=check_tags(tags), per_call=per_call
        )
        if session is not None:
            restore_result(session, result)
        return result

    def embed(
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
            request = mask_request(session, request)
        return self._transport.request(EMBED, request, tags=check_tags(tags), per_call=per_call)

    def classify(
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
            request = mask_request(session, request)
        return self._transport.request(CLASSIFY, request, tags=check_tags(tags), per_call=per_call)

    def models(self, *, tags: Mapping[str, str] | None = None) -> list[ModelInfo]:
        """The models of the first endpoint that answers (a router's first candidate)."""
        self._check_task(MODELS)
        return self._transport.request(MODELS, _MODELS_REQUEST, tags=check_tags(tags)).data
