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
from ._extra_requests import (
    check_extra_body,
    check_rerank,
    check_similarity,
    check_supported,
    infer_request,
    per_call_options,
    rerank_request,
    similarity_request,
)
from ._hooks import AttemptHook
from ._middleware import AsyncMiddleware, check_client_middleware
from ._privacy import ChunkRestorer, amask_request, restore_result
from ._retry import RetryPolicy
from ._retry_budget import RetryBudget
from ._streaming import AsyncStream
from ._tasks import (
    CHAT,
    CLASSIFY,
    COMPLETE,
    EMBED,
    INFER,
    MODELS,
    RERANK,
    SIMILARITY,
    ModelsRequest,
)
from .providers import Provider
from .types import (
    ChatChunk,
    ChatResponse,
    ClassificationResponse,
    Completion,
    CompletionChunk,
    EmbeddingResponse,
    InferInput,
    InferResponse,
    ModelInfo,
    RequestedOutput,
    RerankResponse,
    SimilarityResponse,
)

__all__ = ["AsyncClient"]

_MODELS_REQUEST = ModelsRequest()


class AsyncClient(BaseClient[httpx.AsyncClient]):
    """An asynchronous client for one MaaS endpoint, or a router over several; safe to
    share between tasks. Parameters as for :class:`Client`, with these differences:

    Parameters:
        middleware: ``async`` functions ``(request, call_next, attempt)`` run around every
            HTTP attempt (``await call_next(request)``); see ``maaskit.AsyncMiddleware``.
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
        middleware: Sequence[AsyncMiddleware] | None = None,
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
        self._core.middleware = check_client_middleware(
            middleware, self._core.router.endpoints, is_async=True
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

    # -- raw tensors, reranking, similarity ----------------------------------------------------

    async def infer(
        self,
        *,
        model: str,
        inputs: Mapping[str, Any] | Sequence[InferInput],
        outputs: Sequence[str | RequestedOutput] | None = None,
        parameters: Mapping[str, Any] | None = None,
        binary_data: bool = False,
        binary_inputs: bool = False,
        model_version: str | None = None,
        request_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> InferResponse:
        """Run a model on raw KServe v2 tensors (``POST /v2/models/{model}/infer``): the
        ``kserve`` provider only (Triton, KServe, MLServer, the maaskit server); other
        providers raise :class:`UnsupportedTaskError`.

        Parameters:
            model: The model's name in the server's repository.
            inputs: ``{name: value}``, each value a numpy array (datatype from its dtype), a
                nested list (datatype inferred: ``BOOL``, ``INT64`` for ints, ``FP32`` for
                floats, ``BYTES`` for text) or a scalar; or a list of :class:`InferInput`
                with an explicit ``datatype`` and ``shape`` (no numpy needed).
            outputs: The outputs to return, by name or as :class:`RequestedOutput` (with
                ``binary_data`` per output); default every output of the model.
            parameters: The request's ``parameters`` object (e.g. Triton's ``priority``,
                a model's own settings).
            binary_data: Ask for the outputs in Triton's binary tensor format (decoded the
                same way; smaller and faster for large tensors).
            binary_inputs: Send the inputs in that format too (Triton, the maaskit server;
                not every KServe server takes it).
            model_version: The version path (``/versions/{v}``); default the server's.
            request_id: The request's ``id``, echoed back as ``InferResponse.id``.
            tags: Only endpoints with these tags serve the call.
            timeout: This call's timeout (seconds or a :class:`Timeout`).
            max_retries: This call's retries after the first attempt.
            extra_headers: Headers added to (and winning over) the built ones.
            extra_query: Query parameters added to the URL.
            idempotency_key: Replaces the ``Idempotency-Key`` maaskit makes for the call.

        Returns an :class:`InferResponse`: ``response["name"]`` is an :class:`InferOutput`
        (``.data`` flat, ``.shape``, ``.datatype``); ``response.as_numpy("name")`` an array.
        """
        check_supported(self._core.router, self._single, INFER)
        request = infer_request(
            model=model,
            inputs=inputs,
            outputs=outputs,
            parameters=parameters,
            binary_data=binary_data,
            binary_inputs=binary_inputs,
            model_version=model_version,
            request_id=request_id,
        )
        per_call = per_call_options(
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            extra_query=extra_query,
            idempotency_key=idempotency_key,
        )
        return await self._transport.request(
            INFER, request, tags=check_tags(tags), per_call=per_call
        )

    async def rerank(
        self,
        *,
        model: str,
        query: str,
        documents: str | Sequence[str],
        top_n: int | None = None,
        return_documents: bool = True,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> RerankResponse:
        """Rank ``documents`` by relevance to ``query``, best first: vLLM's (and Cohere's,
        Jina's) ``POST /v1/rerank`` on the ``openai`` provider, TEI's ``POST /rerank`` on
        ``hf``; other providers raise :class:`UnsupportedTaskError`.

        Parameters:
            model: The reranking (or embedding) model.
            query: The text the documents are ranked against.
            documents: The texts to rank.
            top_n: Return only the best ``top_n`` (default all).
            return_documents: Put each document's text on its result (``document``).
            tags: Only endpoints with these tags serve the call.
            privacy: This call's masker (``False``: off), else the client's: the query and
                documents are masked before they are sent; results carry the caller's texts.
            extra_body: Provider-specific fields merged into the request body (e.g. TEI's
                ``truncate``, ``raw_scores``).
            timeout: This call's timeout (seconds or a :class:`Timeout`).
            max_retries: This call's retries after the first attempt.
            extra_headers: Headers added to (and winning over) the built ones.
            extra_query: Query parameters added to the URL.
            idempotency_key: Replaces the ``Idempotency-Key`` maaskit makes for the call.

        Returns a :class:`RerankResponse`: ``results`` of :class:`RerankResult` (``index``
        into ``documents``, ``relevance_score``, ``document``), ``usage`` where the server
        reports it.
        """
        check_supported(self._core.router, self._single, RERANK)
        request = rerank_request(
            model=model,
            query=query,
            documents=documents,
            top_n=top_n,
            return_documents=return_documents,
            params=check_extra_body(extra_body),
        )
        per_call = per_call_options(
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            extra_query=extra_query,
            idempotency_key=idempotency_key,
        )
        session = self._session(privacy)
        sent = request if session is None else await amask_request(session, request)
        result = await self._transport.request(
            RERANK, sent, tags=check_tags(tags), per_call=per_call
        )
        return check_rerank(result, request)

    async def similarity(
        self,
        *,
        model: str,
        source: str,
        sentences: str | Sequence[str],
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> SimilarityResponse:
        """The similarity of ``source`` to each of ``sentences``: vLLM's ``POST /v1/score``
        (``text_1`` against each ``text_2``) on the ``openai`` provider, TEI's
        ``POST /similarity`` on ``hf``; other providers raise :class:`UnsupportedTaskError`.

        Parameters:
            model: The scoring (or embedding) model.
            source: The text compared with every sentence.
            sentences: The texts it is compared with.
            tags: Only endpoints with these tags serve the call.
            privacy: This call's masker (``False``: off), else the client's: every text is
                masked before it is sent.
            extra_body: Provider-specific fields merged into the request body.
            timeout: This call's timeout (seconds or a :class:`Timeout`).
            max_retries: This call's retries after the first attempt.
            extra_headers: Headers added to (and winning over) the built ones.
            extra_query: Query parameters added to the URL.
            idempotency_key: Replaces the ``Idempotency-Key`` maaskit makes for the call.

        Returns a :class:`SimilarityResponse`: ``scores``, one per sentence in order.
        """
        check_supported(self._core.router, self._single, SIMILARITY)
        request = similarity_request(
            model=model, source=source, sentences=sentences, params=check_extra_body(extra_body)
        )
        per_call = per_call_options(
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            extra_query=extra_query,
            idempotency_key=idempotency_key,
        )
        session = self._session(privacy)
        sent = request if session is None else await amask_request(session, request)
        result = await self._transport.request(
            SIMILARITY, sent, tags=check_tags(tags), per_call=per_call
        )
        return check_similarity(result, request)

    async def models(self, *, tags: Mapping[str, str] | None = None) -> list[ModelInfo]:
        """The models of the first endpoint that answers (a router's first candidate)."""
        self._check_task(MODELS)
        found = await self._transport.request(MODELS, _MODELS_REQUEST, tags=check_tags(tags))
        return found.data
