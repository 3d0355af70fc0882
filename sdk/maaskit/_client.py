"""``maaskit.Client``: the synchronous public face."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import httpx
from pydantic import BaseModel
from typing_extensions import Never

from ._auth import KeySource
from ._base_client import _UNSET, DEFAULT, BaseClient, MessageLike, PreparedCall, check_tags
from ._breaker import BreakerPolicy
from ._call_state import Core
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
from ._middleware import Middleware, check_client_middleware
from ._params import (
    CHAT_PARAMS,
    CLASSIFY_PARAMS,
    COMPLETE_PARAMS,
    EMBED_PARAMS,
    call_options,
    reject_unknown,
)
from ._privacy import ChunkRestorer, mask_request
from ._retry import RetryPolicy
from ._retry_budget import RetryBudget
from ._streaming import Stream
from ._structured import ResponseFormat
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
    Task,
)
from ._transport import SyncTransport
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
    Result,
    SimilarityResponse,
)

__all__ = ["Client"]

_MODELS_REQUEST = ModelsRequest()

RequestT = TypeVar("RequestT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=Result)
ChunkT = TypeVar("ChunkT", bound=Result)


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
        middleware: Functions ``(request, call_next, attempt)`` run around every HTTP
            attempt, first one outermost: each can change or sign the ``httpx.Request``,
            answer with its own ``httpx.Response`` instead of calling ``call_next``, or
            observe the response (see ``maaskit.Middleware``); they never see the API key.
        privacy: A ``maaskit.privacy.Masker`` (or one ``MaskSession`` for a conversation):
            every outgoing text (messages, prompts, inputs) is masked before it leaves the
            process and answers (streams too) get the values back. Per call, ``privacy=``
            overrides it (``False``: off for that call).
        require_tls: Refuse, at construction, an endpoint that would send credentials over
            plain ``http://`` to a non-loopback host (otherwise a warning is logged).
        http_client: An ``httpx.Client`` used as is (proxies, TLS, limits) for endpoints
            without TLS settings of their own; not closed by ``close()``. Without it the
            client makes its own pools with the official openai client's limits: up to 1,000
            connections, 100 of them kept alive.
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
        middleware: Sequence[Middleware] | None = None,
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
        self._core.middleware = check_client_middleware(
            middleware, self._core.router.endpoints, is_async=False
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

    def _request(
        self, task: Task[RequestT, ResultT, Any], request: RequestT, prepared: PreparedCall
    ) -> ResultT:
        if prepared.session is not None:
            request = mask_request(prepared.session, request)
        result = self._transport.request(
            task, request, tags=prepared.tags, per_call=prepared.per_call
        )
        return self._finish_result(prepared, result)

    def _stream(
        self, task: Task[RequestT, Any, ChunkT], request: RequestT, prepared: PreparedCall
    ) -> Stream[ChunkT]:
        session = prepared.session
        if session is not None:
            request = mask_request(session, request)
        stream = self._transport.stream(
            task,
            request,
            tags=prepared.tags,
            per_call=prepared.per_call,
            restorer=ChunkRestorer(session) if session is not None else None,
        )
        stream._expect_output(prepared.output_type)
        return stream

    @overload
    def chat(
        self,
        *,
        model: str,
        messages: Sequence[MessageLike],
        stream: Literal[False] = False,
        frequency_penalty: float | None = None,
        logit_bias: Mapping[str, int] | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        max_tokens: int | None = None,
        max_completion_tokens: int | None = None,
        n: int | None = None,
        presence_penalty: float | None = None,
        response_format: ResponseFormat | None = None,
        seed: int | None = None,
        stop: str | Sequence[str] | None = None,
        stream_options: Mapping[str, Any] | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        user: str | None = None,
        reasoning_effort: str | None = None,
        metadata: Mapping[str, str] | None = None,
        store: bool | None = None,
        service_tier: str | None = None,
        provider_params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> ChatResponse: ...

    @overload
    def chat(
        self,
        *,
        model: str,
        messages: Sequence[MessageLike],
        stream: Literal[True],
        frequency_penalty: float | None = None,
        logit_bias: Mapping[str, int] | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        max_tokens: int | None = None,
        max_completion_tokens: int | None = None,
        n: int | None = None,
        presence_penalty: float | None = None,
        response_format: ResponseFormat | None = None,
        seed: int | None = None,
        stop: str | Sequence[str] | None = None,
        stream_options: Mapping[str, Any] | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        user: str | None = None,
        reasoning_effort: str | None = None,
        metadata: Mapping[str, str] | None = None,
        store: bool | None = None,
        service_tier: str | None = None,
        provider_params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Stream[ChatChunk]: ...

    def chat(
        self,
        *,
        model: str,
        messages: Sequence[MessageLike],
        stream: bool = False,
        frequency_penalty: float | None = None,
        logit_bias: Mapping[str, int] | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        max_tokens: int | None = None,
        max_completion_tokens: int | None = None,
        n: int | None = None,
        presence_penalty: float | None = None,
        response_format: ResponseFormat | None = None,
        seed: int | None = None,
        stop: str | Sequence[str] | None = None,
        stream_options: Mapping[str, Any] | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        user: str | None = None,
        reasoning_effort: str | None = None,
        metadata: Mapping[str, str] | None = None,
        store: bool | None = None,
        service_tier: str | None = None,
        provider_params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        **unknown: Any,
    ) -> ChatResponse | Stream[ChatChunk]:
        """Chat completion: the answer to ``messages`` (OpenAI's ``/chat/completions``).

        Parameters left ``None`` are not sent (the server's default applies); anything
        a provider takes that is not named here goes in ``provider_params=`` or
        ``extra_body=``.

        Parameters:
            model: The model's name (a router maps it per endpoint).
            messages: The conversation: dicts or :class:`ChatMessage` with ``role`` (``system``,
                ``user``, ``assistant``, ``tool``…) and ``content``; an assistant turn may carry
                ``tool_calls``, a ``tool`` turn needs ``tool_call_id``.
            stream: Return a stream of :class:`ChatChunk` instead of the whole answer; ``with
                client.chat(..., stream=True) as stream:`` closes it when the block ends.
            frequency_penalty: Penalise tokens by how often they already appeared (-2 to 2).
            logit_bias: Token id (as a str) to a bias from -100 to 100 added to its logit.
            logprobs: Return each generated token's log-probability (``choice.logprobs``;
                streamed in ``chunk.logprobs``).
            top_logprobs: With ``logprobs=True``: the likeliest alternatives listed per token
                (0-20).
            max_tokens: The most tokens to generate.
            max_completion_tokens: OpenAI's newer name for ``max_tokens`` (counting reasoning
                tokens too).
            n: How many answers (choices) to generate; a stream's chunks say which in
                ``chunk.index``.
            presence_penalty: Penalise tokens that already appeared at all (-2 to 2).
            response_format: A pydantic model class (sent as a strict ``json_schema``; the
                answer is validated into ``message.parsed``, else ``OutputValidationError``), or
                a dict: ``{"type": "json_object"}`` or ``{"type": "json_schema", "json_schema":
                {...}}``.
            seed: Sample deterministically, as far as the server can.
            stop: Up to 4 strings that end the answer (not included in it).
            stream_options: With ``stream=True``: ``{"include_usage": True}`` adds a last chunk
                with ``usage`` (maaskit asks for it itself to keep its ledger right, and hides
                the chunk it asked for).
            temperature: Sampling temperature (0 is greedy).
            top_p: Nucleus sampling: the probability mass to sample from (0-1).
            top_k: Sample from the k likeliest tokens (vLLM, TGI and Ollama; OpenAI itself has
                none).
            tools: Functions the model may call: ``[{"type": "function", "function": {"name",
                "description", "parameters": <JSON schema>}}]``; the answer's
                ``message.tool_calls`` (streamed: ``stream.final().tool_calls``).
            tool_choice: ``"auto"``, ``"none"``, ``"required"`` or ``{"type": "function",
                "function": {"name": ...}}``.
            parallel_tool_calls: Whether the model may call several tools in one turn.
            user: An id of the end user, for the provider's abuse monitoring.
            reasoning_effort: For reasoning models: ``"low"``, ``"medium"`` or ``"high"``.
            metadata: Key-value pairs stored with the completion (OpenAI).
            store: Whether OpenAI stores the completion.
            service_tier: OpenAI's processing tier (``"auto"``, ``"default"``, ``"flex"``).
            provider_params: Parameters in the provider's own names, mapped the provider's way
                (into TGI's ``parameters``, Ollama's ``options``, KServe's ``parameters``; for
                OpenAI into the body): ``{"repetition_penalty": 1.2}``, ``{"model_version":
                "2"}``.
            tags: Send the call only to endpoints that have these tags.
            privacy: Masking for this call: a ``maaskit.privacy.Masker`` or ``MaskSession``, or
                ``False`` to turn the client's off.
            timeout: Seconds or a :class:`Timeout` for this call instead of the client's.
            max_retries: Retries for this call instead of the client's.
            extra_headers: Headers added to (and winning over) the ones maaskit sends.
            extra_query: Query parameters added to the URL.
            extra_body: JSON fields merged into the top level of the body as is, after the
                provider built it (anything a server takes that has no parameter here).
            idempotency_key: The ``Idempotency-Key`` sent with every attempt, instead of the one
                maaskit makes.

        Raises :class:`InvalidRequestError` (a ``ValueError``; ``InvalidRequestTypeError``,
        also a ``TypeError``, for a wrong type or an unknown keyword) before anything is
        sent, :class:`ClientClosedError` on a closed client, and :class:`APIError` for what
        the endpoint answered.
        """
        reject_unknown("chat", unknown, CHAT_PARAMS)
        request, prepared = self._prepare_chat(
            model,
            messages,
            stream,
            {
                "frequency_penalty": frequency_penalty,
                "logit_bias": logit_bias,
                "logprobs": logprobs,
                "top_logprobs": top_logprobs,
                "max_tokens": max_tokens,
                "max_completion_tokens": max_completion_tokens,
                "n": n,
                "presence_penalty": presence_penalty,
                "response_format": response_format,
                "seed": seed,
                "stop": stop,
                "stream_options": stream_options,
                "temperature": temperature,
                "top_p": top_p,
                "top_k": top_k,
                "tools": tools,
                "tool_choice": tool_choice,
                "parallel_tool_calls": parallel_tool_calls,
                "user": user,
                "reasoning_effort": reasoning_effort,
                "metadata": metadata,
                "store": store,
                "service_tier": service_tier,
            },
            provider_params=provider_params,
            options=call_options(
                timeout=timeout,
                max_retries=max_retries,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                idempotency_key=idempotency_key,
            ),
            tags=tags,
            privacy=privacy,
        )
        if stream:
            return self._stream(CHAT, request, prepared)
        return self._request(CHAT, request, prepared)

    @overload
    def complete(
        self,
        *,
        model: str,
        prompt: str | Sequence[str],
        stream: Literal[False] = False,
        best_of: int | None = None,
        echo: bool | None = None,
        frequency_penalty: float | None = None,
        logit_bias: Mapping[str, int] | None = None,
        logprobs: int | None = None,
        max_tokens: int | None = None,
        n: int | None = None,
        presence_penalty: float | None = None,
        seed: int | None = None,
        stop: str | Sequence[str] | None = None,
        stream_options: Mapping[str, Any] | None = None,
        suffix: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        user: str | None = None,
        provider_params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Completion: ...

    @overload
    def complete(
        self,
        *,
        model: str,
        prompt: str | Sequence[str],
        stream: Literal[True],
        best_of: int | None = None,
        echo: bool | None = None,
        frequency_penalty: float | None = None,
        logit_bias: Mapping[str, int] | None = None,
        logprobs: int | None = None,
        max_tokens: int | None = None,
        n: int | None = None,
        presence_penalty: float | None = None,
        seed: int | None = None,
        stop: str | Sequence[str] | None = None,
        stream_options: Mapping[str, Any] | None = None,
        suffix: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        user: str | None = None,
        provider_params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Stream[CompletionChunk]: ...

    def complete(
        self,
        *,
        model: str,
        prompt: str | Sequence[str],
        stream: bool = False,
        best_of: int | None = None,
        echo: bool | None = None,
        frequency_penalty: float | None = None,
        logit_bias: Mapping[str, int] | None = None,
        logprobs: int | None = None,
        max_tokens: int | None = None,
        n: int | None = None,
        presence_penalty: float | None = None,
        seed: int | None = None,
        stop: str | Sequence[str] | None = None,
        stream_options: Mapping[str, Any] | None = None,
        suffix: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        user: str | None = None,
        provider_params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        **unknown: Any,
    ) -> Completion | Stream[CompletionChunk]:
        """Text completion (OpenAI's legacy ``/completions``); parameters as for ``chat``.

        Parameters:
            model: The model's name (a router maps it per endpoint).
            prompt: The text to continue (one str, or a list for several completions in one
                call).
            stream: Return a stream of :class:`CompletionChunk` instead of the whole answer;
                ``with client.complete(..., stream=True) as stream:`` closes it when the block
                ends.
            best_of: Generate this many server-side and return the best ``n``.
            echo: Return the prompt in front of the completion.
            frequency_penalty: Penalise tokens by how often they already appeared (-2 to 2).
            logit_bias: Token id (as a str) to a bias from -100 to 100 added to its logit.
            logprobs: Return the log-probabilities of the generated tokens and of this many
                likeliest alternatives per token (``completion.logprobs``; streamed too).
            max_tokens: The most tokens to generate.
            n: How many completions per prompt; a stream's chunks say which in ``chunk.index``.
            presence_penalty: Penalise tokens that already appeared at all (-2 to 2).
            seed: Sample deterministically, as far as the server can.
            stop: Up to 4 strings that end the completion (not included in it).
            stream_options: With ``stream=True``: ``{"include_usage": True}`` adds a last chunk
                with ``usage``.
            suffix: Text that comes after the completion (insertion).
            temperature: Sampling temperature (0 is greedy).
            top_p: Nucleus sampling: the probability mass to sample from (0-1).
            top_k: Sample from the k likeliest tokens (vLLM, TGI and Ollama; OpenAI itself has
                none).
            user: An id of the end user, for the provider's abuse monitoring.
            provider_params: Parameters in the provider's own names, mapped the provider's way
                (into TGI's ``parameters``, Ollama's ``options``, KServe's ``parameters``; for
                OpenAI into the body): ``{"repetition_penalty": 1.2}``, ``{"model_version":
                "2"}``.
            tags: Send the call only to endpoints that have these tags.
            privacy: Masking for this call: a ``maaskit.privacy.Masker`` or ``MaskSession``, or
                ``False`` to turn the client's off.
            timeout: Seconds or a :class:`Timeout` for this call instead of the client's.
            max_retries: Retries for this call instead of the client's.
            extra_headers: Headers added to (and winning over) the ones maaskit sends.
            extra_query: Query parameters added to the URL.
            extra_body: JSON fields merged into the top level of the body as is, after the
                provider built it (anything a server takes that has no parameter here).
            idempotency_key: The ``Idempotency-Key`` sent with every attempt, instead of the one
                maaskit makes.

        Raises :class:`InvalidRequestError` (a ``ValueError``; ``InvalidRequestTypeError``,
        also a ``TypeError``, for a wrong type or an unknown keyword) before anything is
        sent, :class:`ClientClosedError` on a closed client, and :class:`APIError` for what
        the endpoint answered.
        """
        reject_unknown("complete", unknown, COMPLETE_PARAMS)
        request, prepared = self._prepare_complete(
            model,
            prompt,
            stream,
            {
                "best_of": best_of,
                "echo": echo,
                "frequency_penalty": frequency_penalty,
                "logit_bias": logit_bias,
                "logprobs": logprobs,
                "max_tokens": max_tokens,
                "n": n,
                "presence_penalty": presence_penalty,
                "seed": seed,
                "stop": stop,
                "stream_options": stream_options,
                "suffix": suffix,
                "temperature": temperature,
                "top_p": top_p,
                "top_k": top_k,
                "user": user,
            },
            provider_params=provider_params,
            options=call_options(
                timeout=timeout,
                max_retries=max_retries,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                idempotency_key=idempotency_key,
            ),
            tags=tags,
            privacy=privacy,
        )
        if stream:
            return self._stream(COMPLETE, request, prepared)
        return self._request(COMPLETE, request, prepared)

    def embed(
        self,
        *,
        model: str,
        input: str | Sequence[str],
        dimensions: int | None = None,
        encoding_format: Literal["float", "base64"] | None = None,
        user: str | None = None,
        provider_params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        **unknown: Never,
    ) -> EmbeddingResponse:
        """Embeddings: one vector per input, in input order.

        Parameters:
            model: The model's name (a router maps it per endpoint).
            input: One text or a list of texts.
            dimensions: Shorten the vectors to this many dimensions (models that support it).
            encoding_format: How the server sends the vectors; ``"base64"`` is smaller on the
                wire and decoded to floats all the same.
            user: An id of the end user, for the provider's abuse monitoring.
            provider_params: Parameters in the provider's own names, mapped the provider's way
                (into TGI's ``parameters``, Ollama's ``options``, KServe's ``parameters``; for
                OpenAI into the body): ``{"repetition_penalty": 1.2}``, ``{"model_version":
                "2"}``.
            tags: Send the call only to endpoints that have these tags.
            privacy: Masking for this call: a ``maaskit.privacy.Masker`` or ``MaskSession``, or
                ``False`` to turn the client's off.
            timeout: Seconds or a :class:`Timeout` for this call instead of the client's.
            max_retries: Retries for this call instead of the client's.
            extra_headers: Headers added to (and winning over) the ones maaskit sends.
            extra_query: Query parameters added to the URL.
            extra_body: JSON fields merged into the top level of the body as is, after the
                provider built it (anything a server takes that has no parameter here).
            idempotency_key: The ``Idempotency-Key`` sent with every attempt, instead of the one
                maaskit makes.

        Raises :class:`InvalidRequestError` (a ``ValueError``; ``InvalidRequestTypeError``,
        also a ``TypeError``, for a wrong type or an unknown keyword) before anything is
        sent, :class:`ClientClosedError` on a closed client, and :class:`APIError` for what
        the endpoint answered.
        """
        reject_unknown("embed", unknown, EMBED_PARAMS)
        request, prepared = self._prepare_embed(
            model,
            input,
            {"dimensions": dimensions, "encoding_format": encoding_format, "user": user},
            provider_params=provider_params,
            options=call_options(
                timeout=timeout,
                max_retries=max_retries,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                idempotency_key=idempotency_key,
            ),
            tags=tags,
            privacy=privacy,
        )
        return self._request(EMBED, request, prepared)

    def classify(
        self,
        *,
        model: str,
        input: str | Sequence[str],
        provider_params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        privacy: Any = None,
        timeout: float | Timeout | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        **unknown: Never,
    ) -> ClassificationResponse:
        """Labels with scores for each input text.

        Parameters:
            model: The model's name (a router maps it per endpoint).
            input: One text or a list of texts.
            provider_params: Parameters in the provider's own names, mapped the provider's way
                (into TGI's ``parameters``, Ollama's ``options``, KServe's ``parameters``; for
                OpenAI into the body): ``{"repetition_penalty": 1.2}``, ``{"model_version":
                "2"}``.
            tags: Send the call only to endpoints that have these tags.
            privacy: Masking for this call: a ``maaskit.privacy.Masker`` or ``MaskSession``, or
                ``False`` to turn the client's off.
            timeout: Seconds or a :class:`Timeout` for this call instead of the client's.
            max_retries: Retries for this call instead of the client's.
            extra_headers: Headers added to (and winning over) the ones maaskit sends.
            extra_query: Query parameters added to the URL.
            extra_body: JSON fields merged into the top level of the body as is, after the
                provider built it (anything a server takes that has no parameter here).
            idempotency_key: The ``Idempotency-Key`` sent with every attempt, instead of the one
                maaskit makes.

        Raises :class:`InvalidRequestError` (a ``ValueError``; ``InvalidRequestTypeError``,
        also a ``TypeError``, for a wrong type or an unknown keyword) before anything is
        sent, :class:`ClientClosedError` on a closed client, and :class:`APIError` for what
        the endpoint answered.
        """
        reject_unknown("classify", unknown, CLASSIFY_PARAMS)
        request, prepared = self._prepare_classify(
            model,
            input,
            provider_params=provider_params,
            options=call_options(
                timeout=timeout,
                max_retries=max_retries,
                extra_headers=extra_headers,
                extra_query=extra_query,
                extra_body=extra_body,
                idempotency_key=idempotency_key,
            ),
            tags=tags,
            privacy=privacy,
        )
        return self._request(CLASSIFY, request, prepared)

    # -- raw tensors, reranking, similarity ----------------------------------------------------

    def infer(
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
        return self._transport.request(INFER, request, tags=check_tags(tags), per_call=per_call)

    def rerank(
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
        sent = request if session is None else mask_request(session, request)
        result = self._transport.request(RERANK, sent, tags=check_tags(tags), per_call=per_call)
        return check_rerank(result, request)

    def similarity(
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
        sent = request if session is None else mask_request(session, request)
        result = self._transport.request(SIMILARITY, sent, tags=check_tags(tags), per_call=per_call)
        return check_similarity(result, request)

    def models(self, *, tags: Mapping[str, str] | None = None) -> list[ModelInfo]:
        """The models of the first endpoint that answers (a router's first candidate)."""
        self._check_task(MODELS)
        return self._transport.request(MODELS, _MODELS_REQUEST, tags=check_tags(tags)).data
