"""What ``Client`` and ``AsyncClient`` share: settings, endpoints, argument checks.

A client is a router over one or more :class:`Endpoint`\\ s. ``Client(provider=, base_url=)``
is the one-endpoint case (named ``"default"``) and behaves as a plain client: no breaker and
no retry budget unless asked for, so a single backend's hiccups are retried exactly as
before. With ``endpoints=[...]`` both are on by default.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

from ._auth import KeySource
from ._breaker import BreakerPolicy
from ._call_options import CallOptions
from ._call_state import Core
from ._cleartext import check_transport_security
from ._config import ClientConfig, Timeout, resolve_single_endpoint
from ._config_file import load_config
from ._endpoint import Budget, CertTypes, Endpoint, VerifyTypes
from ._exceptions import ClientClosedError, InvalidRequestTypeError
from ._hooks import AttemptHook
from ._http_clients import open_http_clients
from ._ledger import Ledger, UsageReport
from ._options import ClientOptions
from ._params import body_params
from ._privacy import Session, check_privacy, open_session, restore_result
from ._retry import RetryPolicy
from ._retry_budget import RetryBudget, RetryThrottle
from ._router import Router
from ._structured import parse_choices, response_format_param
from ._tasks import TASKS, Task
from ._validation import (
    check_flag,
    check_messages,
    check_model,
    check_params,
    check_prompt,
    check_texts,
)
from .providers import Provider
from .types import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    ClassificationRequest,
    CompletionRequest,
    EmbeddingRequest,
    Result,
)

__all__ = ["DEFAULT", "BaseClient", "MessageLike", "PreparedCall", "check_tags"]

MessageLike = ChatMessage | Mapping[str, Any]

HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)
ResultT = TypeVar("ResultT", bound=Result)


class _Default:
    """The default of a setting whose default depends on the number of endpoints."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()
_UNSET: Any = object()

SINGLE_ENDPOINT_NAME = "default"


class BaseClient(Generic[HttpT]):
    _core: Core
    _single: bool
    _http_clients: dict[Any, HttpT]
    _owned_http_clients: list[HttpT]

    def _setup(
        self,
        *,
        provider: str | Provider | None,
        base_url: str | None,
        api_key: KeySource | None,
        auth: httpx.Auth | None,
        endpoints: Sequence[Endpoint] | None,
        routing: Any,
        min_quality: float | None,
        breaker: BreakerPolicy | None,
        wait_for_recovery: float | None,
        retry_budget: RetryBudget | None,
        budget: Budget | None,
        timeout: float | Timeout | None,
        max_retries: int | None,
        retry_policy: RetryPolicy | None,
        default_headers: Mapping[str, str] | None,
        on_attempt: AttemptHook | None,
        verify: VerifyTypes | None,
        cert: CertTypes | None,
        require_tls: bool,
        clock: Callable[[], float],
        http_client: HttpT | None,
        make_http_client: Callable[..., HttpT],
        privacy: Any = None,
    ) -> None:
        self._privacy = check_privacy(privacy)
        options = ClientOptions.resolve(
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            default_headers=default_headers,
            on_attempt=on_attempt,
        )
        if endpoints is not None:
            given = [
                name
                for name, value in (
                    ("provider", provider),
                    ("base_url", base_url),
                    ("api_key", api_key),
                    ("auth", auth),
                    ("verify", verify),
                    ("cert", cert),
                )
                if value is not None
            ]
            if given:
                raise TypeError(f"with endpoints=, set {', '.join(given)} on each Endpoint instead")
            self._single = False
            endpoint_list = list(endpoints) if isinstance(endpoints, Sequence) else endpoints
        else:
            single = resolve_single_endpoint(
                provider=provider if provider is not None else "openai",
                base_url=base_url,
                api_key=api_key,
                auth=auth,
            )
            self._single = True
            endpoint_list = [
                Endpoint(
                    name=SINGLE_ENDPOINT_NAME,
                    provider=single.provider,
                    base_url=single.base_url,
                    api_key=single.api_key,
                    auth=single.auth,
                    verify=verify,
                    cert=cert,
                )
            ]
        if breaker is DEFAULT:
            breaker = None if self._single else BreakerPolicy()
        if retry_budget is DEFAULT:
            retry_budget = None if self._single else RetryBudget()
        if retry_budget is not None and not isinstance(retry_budget, RetryBudget):
            raise TypeError("retry_budget must be a maaskit.RetryBudget or None")
        if budget is not None and not isinstance(budget, Budget):
            raise TypeError("budget must be a maaskit.Budget or None")
        ledger = Ledger(clock)
        ledger.watch_period(budget)
        router = Router(
            endpoint_list,
            routing,
            ledger=ledger,
            clock=clock,
            breaker=breaker,
            wait_for_recovery=wait_for_recovery,
            min_quality=min_quality,
        )
        if budget is not None:
            router.needs_estimate = True  # the budget check prices the call before sending
        check_transport_security(router.endpoints, check_flag("require_tls", require_tls))
        self._core = Core(
            options=options,
            router=router,
            ledger=ledger,
            clock=clock,
            throttle=RetryThrottle(retry_budget) if retry_budget is not None else None,
            budget=budget,
        )
        self._http_clients, self._owned_http_clients = open_http_clients(
            router.endpoints, http_client, make_http_client
        )

    @property
    def _http_client(self) -> HttpT:
        """The connection pool of endpoints without TLS settings of their own."""
        return self._http_clients[None]

    def _http_for(self, endpoint: Endpoint) -> HttpT:
        return self._http_clients[endpoint.tls_key]

    def _derive_core(
        self,
        *,
        timeout: Any,
        max_retries: Any,
        retry_policy: Any,
        default_headers: Any,
        on_attempt: Any,
        provider: Any,
        base_url: Any,
        api_key: Any,
        auth: Any,
    ) -> Core:
        """The core of a ``with_options`` copy: new options over the same routing state and
        ledger; for a one-endpoint client a changed endpoint gets a fresh router."""
        unset = frozenset(
            name
            for name, value in (
                ("timeout", timeout),
                ("max_retries", max_retries),
                ("retry_policy", retry_policy),
                ("default_headers", default_headers),
                ("on_attempt", on_attempt),
            )
            if value is _UNSET
        )
        options = self._core.options.replace(
            timeout=None if timeout is _UNSET else timeout,
            max_retries=None if max_retries is _UNSET else max_retries,
            retry_policy=None if retry_policy is _UNSET else retry_policy,
            default_headers=None if default_headers is _UNSET else default_headers,
            on_attempt=None if on_attempt is _UNSET else on_attempt,
            unset=unset,
        )
        core = dataclasses.replace(self._core, options=options)
        changes = {
            name: value
            for name, value in (
                ("provider", provider),
                ("base_url", base_url),
                ("api_key", api_key),
                ("auth", auth),
            )
            if value is not _UNSET
        }
        if not changes:
            return core
        if not self._single:
            raise TypeError(
                f"with_options() cannot change {', '.join(sorted(changes))} of a client with "
                "endpoints=; make a client with other Endpoints instead"
            )
        (endpoint,) = self._core.router.endpoints
        fields: dict[str, Any] = {}
        if "provider" in changes:
            fields["provider"] = changes["provider"]
        if "base_url" in changes:
            fields["base_url"] = changes["base_url"]
        # A new credential replaces the old one instead of conflicting with it.
        new_key = changes.get("api_key")
        if "api_key" in changes or "auth" in changes:
            fields["auth"] = changes.get("auth")
        replaced = dataclasses.replace(endpoint, **fields, api_key=new_key)
        old = self._core.router
        router = Router(
            [replaced],
            old.policy,
            ledger=self._core.ledger,
            clock=self._core.clock,
            breaker=old.breaker_policy,
            wait_for_recovery=old.wait_for_recovery,
        )
        return dataclasses.replace(core, router=router)

    # -- reading state -------------------------------------------------------------------------

    @property
    def router(self) -> Router:
        """Routing state: ``health()``, ``load_eval()``, ``endpoints``."""
        return self._core.router

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return self._core.router.endpoints

    @property
    def options(self) -> ClientOptions:
        return self._core.options

    @property
    def config(self) -> ClientConfig:
        """A one-endpoint client's settings in one object (a router has ``endpoints``)."""
        if not self._single:
            raise AttributeError(
                "a client with endpoints= has no single config: see .endpoints and .options"
            )
        (endpoint,) = self._core.router.endpoints
        options = self._core.options
        return ClientConfig(
            provider=endpoint.protocol,
            base_url=endpoint.base_url,
            auth=endpoint.auth,
            timeout=options.timeout,
            retry=options.retry,
            default_headers=options.default_headers,
            on_attempt=options.on_attempt,
        )

    def usage(self) -> UsageReport:
        """The ledger: calls, failures by kind, tokens, cost, latency and TTFT percentiles
        per endpoint and model, since this client was made (shared with its copies)."""
        return self._core.ledger.snapshot()

    def __repr__(self) -> str:
        core = getattr(self, "_core", None)
        if core is None:  # a constructor that raised: tracebacks still show something sane
            return f"<{type(self).__name__} (not constructed)>"
        retries = core.options.retry.max_retries
        if self._single:
            (endpoint,) = core.router.endpoints
            return (
                f"{type(self).__name__}(provider={endpoint.protocol.name!r}, "
                f"base_url={endpoint.base_url!r}, auth={endpoint.auth!r}, "
                f"max_retries={retries})"
            )
        names = ", ".join(repr(e.name) for e in core.router.endpoints)
        return (
            f"{type(self).__name__}(endpoints=[{names}], routing={core.router.policy.name!r}, "
            f"max_retries={retries})"
        )

    @staticmethod
    def _settings_from_file(path: str | os.PathLike[str]) -> dict[str, Any]:
        settings = load_config(path)
        return {"endpoints": settings.endpoints, **settings.options}

    # -- building neutral requests -------------------------------------------------------------

    def _session(self, privacy: Any) -> Session | None:
        """The masking session of one call: the call's ``privacy`` (``False`` turns the
        client's off), else the client's."""
        return open_session(self._privacy if privacy is None else privacy)

    def _check_task(self, task: Task[Any, Any, Any]) -> None:
        # A one-endpoint client says plainly that its provider lacks the task (a router says
        # which endpoints could not serve it, through NoEndpointAvailable).
        if self._single:
            (endpoint,) = self._core.router.endpoints
            if not endpoint.protocol.supports(task):
                raise NotImplementedError(
                    f"provider {endpoint.protocol.name!r} has no {task.name!r} task"
                )

    def _check_open(self) -> None:
        if any(client.is_closed for client in self._http_clients.values()):
            raise ClientClosedError(
                f"this {type(self).__name__} is closed (close() was called or its "
                "http_client was closed); make a new client"
            )

    def _prepare(
        self,
        task: Task[Any, Any, Any],
        named: dict[str, Any],
        *,
        provider_params: Mapping[str, Any] | None,
        options: CallOptions | None,
        tags: Any,
        privacy: Any,
    ) -> tuple[dict[str, Any], PreparedCall]:
        """What every method checks first: an open client, a task the provider has, the
        named parameters' values; then the body parameters and the call's settings."""
        self._check_open()
        self._check_task(task)
        check_params(named)
        prepared = PreparedCall(
            per_call=options, tags=check_tags(tags), session=self._session(privacy)
        )
        return body_params(named, provider_params), prepared

    def _prepare_chat(
        self,
        model: str,
        messages: Sequence[MessageLike],
        stream: bool,
        named: dict[str, Any],
        *,
        provider_params: Mapping[str, Any] | None,
        options: CallOptions | None,
        tags: Any,
        privacy: Any,
    ) -> tuple[ChatRequest, PreparedCall]:
        response_format, output_type = response_format_param(named.get("response_format"))
        named = {**named, "response_format": response_format}
        if named.get("tools") is not None:
            check_params({"tools": named["tools"]})
            named["tools"] = [dict(tool) for tool in named["tools"]]
        params, prepared = self._prepare(
            TASKS["chat"],
            named,
            provider_params=provider_params,
            options=options,
            tags=tags,
            privacy=privacy,
        )
        request = ChatRequest(
            model=check_model(model),
            messages=check_messages(messages),
            stream=check_flag("stream", stream),
            params=params,
        )
        return request, dataclasses.replace(prepared, output_type=output_type)

    def _prepare_complete(
        self,
        model: str,
        prompt: str | Sequence[str],
        stream: bool,
        named: dict[str, Any],
        *,
        provider_params: Mapping[str, Any] | None,
        options: CallOptions | None,
        tags: Any,
        privacy: Any,
    ) -> tuple[CompletionRequest, PreparedCall]:
        params, prepared = self._prepare(
            TASKS["complete"],
            named,
            provider_params=provider_params,
            options=options,
            tags=tags,
            privacy=privacy,
        )
        request = CompletionRequest(
            model=check_model(model),
            prompt=check_prompt(prompt),
            stream=check_flag("stream", stream),
            params=params,
        )
        return request, prepared

    def _prepare_embed(
        self,
        model: str,
        input: str | Sequence[str],
        named: dict[str, Any],
        *,
        provider_params: Mapping[str, Any] | None,
        options: CallOptions | None,
        tags: Any,
        privacy: Any,
    ) -> tuple[EmbeddingRequest, PreparedCall]:
        params, prepared = self._prepare(
            TASKS["embed"],
            named,
            provider_params=provider_params,
            options=options,
            tags=tags,
            privacy=privacy,
        )
        request = EmbeddingRequest(
            model=check_model(model), input=check_texts("input", input), params=params
        )
        return request, prepared

    def _prepare_classify(
        self,
        model: str,
        input: str | Sequence[str],
        *,
        provider_params: Mapping[str, Any] | None,
        options: CallOptions | None,
        tags: Any,
        privacy: Any,
    ) -> tuple[ClassificationRequest, PreparedCall]:
        params, prepared = self._prepare(
            TASKS["classify"],
            {},
            provider_params=provider_params,
            options=options,
            tags=tags,
            privacy=privacy,
        )
        request = ClassificationRequest(
            model=check_model(model), input=check_texts("input", input), params=params
        )
        return request, prepared

    @staticmethod
    def _finish_result(prepared: PreparedCall, result: ResultT) -> ResultT:
        """Values put back (masking), then a ``response_format=`` model's ``parsed``."""
        if prepared.session is not None:
            restore_result(prepared.session, result)
        if prepared.output_type is not None and isinstance(result, ChatResponse):
            parse_choices(result, prepared.output_type)
        return result


@dataclass(frozen=True)
class PreparedCall:
    """A call's settings besides its neutral request."""

    per_call: CallOptions | None
    tags: dict[str, str]
    session: Session | None
    output_type: type[BaseModel] | None = None


def check_tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise InvalidRequestTypeError("tags must be a mapping of str to str")
    return dict(tags)
