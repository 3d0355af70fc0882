"""One backend, everything that belongs to it: protocol, address, credentials, models, price.

An :class:`Endpoint` is frozen and checked when it is made, so a misconfigured router fails at
construction, naming the endpoint and the field, not on the first call. The API key is turned
into an auth flow at once and never stored as a field: ``vars(endpoint)``, ``repr`` and
pickled state show the flow's masked repr only.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any, TypeAlias

import httpx

from ._auth import BearerAuth, KeySource
from ._config import Timeout, check_base_url
from ._middleware import check_middleware
from ._tasks import TASKS
from .providers import Provider, get_provider

__all__ = ["Budget", "Endpoint", "Price", "VerifyTypes"]

VerifyTypes: TypeAlias = bool | str | ssl.SSLContext
"""``verify=``: ``True`` (system CAs), ``False`` (no check), a CA bundle path, or a context."""

CertTypes: TypeAlias = str | tuple[str, str] | tuple[str, str, str]
"""``cert=``: a client certificate file (with its key), or ``(certfile, keyfile[, password])``."""


def _number(owner: str, name: str, value: Any, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{owner}: {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{owner}: {name} must be a finite number >= 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Price:
    """US dollars: ``input``, ``output`` and ``cached_input`` per 1M tokens, ``per_request`` per
    call. ``cached_input`` (prompt tokens the provider served from its cache, reported as
    ``prompt_tokens_details.cached_tokens``) defaults to ``input``."""

    input: float = 0.0
    output: float = 0.0
    per_request: float = 0.0
    cached_input: float | None = None

    def __post_init__(self) -> None:
        for name in ("input", "output", "per_request"):
            _number("Price", name, getattr(self, name))
        _number("Price", "cached_input", self.cached_input, allow_none=True)

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float:
        cached = min(max(cached_tokens, 0), prompt_tokens)
        cached_rate = self.input if self.cached_input is None else self.cached_input
        per_token = (
            (prompt_tokens - cached) * self.input
            + cached * cached_rate
            + completion_tokens * self.output
        )
        return per_token / 1_000_000 + self.per_request


@dataclass(frozen=True)
class Budget:
    """At most ``max_cost`` US dollars per ``period`` seconds (``None``: over the client's life).

    A call whose estimated cost would take the spending over the limit is refused before it is
    sent (``BudgetExceededError``); the ledger then charges each call's real cost.
    """

    max_cost: float
    period: float | None = None

    def __post_init__(self) -> None:
        _number("Budget", "max_cost", self.max_cost)
        period = _number("Budget", "period", self.period, allow_none=True)
        if period is not None and period <= 0:
            raise ValueError(f"Budget: period must be > 0 seconds, got {self.period!r}")


def _str_map(owner: str, name: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{owner}: {name} must be a mapping of str to str")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise TypeError(f"{owner}: {name} must be a mapping of str to str, got {key!r}")
    return dict(value)


@dataclass(frozen=True)
class Endpoint:
    """One MaaS backend a client may send calls to.

    Parameters:
        name: Unique within a client; names the endpoint in health, the ledger and errors.
        provider: The protocol: ``"openai"``, ``"hf"``, ``"kserve"``, ``"ollama"`` or a
            ``Provider`` instance.
        base_url: Absolute ``http(s)://`` URL, without credentials.
        api_key: Sent as ``Authorization: Bearer``; a str, ``SecretStr`` or a callable
            (called per request, so rotated keys are picked up). Not stored as given.
        auth: Any ``httpx.Auth`` instead of ``api_key`` (``HeaderAuth``, OAuth2…).
        models: ``{public name: this provider's model name}``; ``None`` serves every name
            unchanged. A call for a name not in the map skips this endpoint.
        tasks: Task names this endpoint serves (``chat``, ``complete``, ``embed``,
            ``classify``, ``models``, ``infer``, ``rerank``, ``similarity``); ``None`` trusts
            what the provider supports.
        price: What a call costs here (:class:`Price`), for ``cheapest``, ``best_value``,
            budgets and ``Usage.cost``.
        max_context: Longest prompt + ``max_tokens`` in tokens; longer calls skip this
            endpoint, and a context-length 400 fails over to one with a larger value.
        weight: Share of calls under ``round_robin`` (> 0).
        tags: Free labels matched by a call's ``tags=`` (data residency, tier…).
        quality: Measured quality per task or model name, in [0, 1] (``best_value``; see
            ``client.router.load_eval``).
        timeout: Overrides the client's timeout for calls to this endpoint.
        headers: Extra headers sent to this endpoint.
        verify: TLS verification: ``True``, ``False``, a CA bundle path or an
            ``ssl.SSLContext``. ``None`` keeps the client's (or its ``http_client``'s).
        cert: Client certificate for mutual TLS: a file, or ``(certfile, keyfile[, password])``.
        budget: Spending limit for this endpoint alone; over it, calls go elsewhere.
        failover_statuses: Statuses that are not retryable on their own (404 "model not
            loaded", say) but should move the call to the next endpoint.
        stream_usage: For ``openai`` streams, ask for ``stream_options.include_usage`` when
            the call did not, so streamed tokens and cost reach the ledger (the extra
            usage-only chunk is kept out of the stream the caller reads).
        middleware: Middleware for attempts sent to this endpoint only, run inside the
            client's (plain functions for a ``Client``, ``async`` ones for an
            ``AsyncClient``; see ``maaskit.Middleware``), e.g. one backend's request signing.
    """

    name: str
    provider: str | Provider
    base_url: str
    api_key: InitVar[KeySource | None] = None
    auth: httpx.Auth | None = None
    models: Mapping[str, str] | None = None
    tasks: frozenset[str] | None = None
    price: Price | None = None
    max_context: int | None = None
    weight: float = 1.0
    tags: Mapping[str, str] = field(default_factory=dict)
    quality: Mapping[str, float] = field(default_factory=dict)
    timeout: Timeout | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    verify: VerifyTypes | None = None
    cert: CertTypes | None = None
    budget: Budget | None = None
    failover_statuses: frozenset[int] = frozenset()
    stream_usage: bool = True
    middleware: tuple[Any, ...] = ()
    protocol: Provider = field(init=False, repr=False, compare=False)

    def __post_init__(self, api_key: KeySource | None) -> None:
        set_ = object.__setattr__  # frozen: checked values are stored once, here
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"Endpoint name must be a non-empty str, got {self.name!r}")
        owner = f"endpoint {self.name!r}"
        try:
            set_(self, "protocol", get_provider(self.provider))
            set_(self, "base_url", check_base_url(self.base_url))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{owner}: {exc}") from None
        if api_key is not None and self.auth is not None:
            raise ValueError(f"{owner}: pass either api_key= or auth=, not both")
        if self.auth is not None and not isinstance(self.auth, httpx.Auth):
            raise TypeError(f"{owner}: auth must be an httpx.Auth, got {type(self.auth).__name__}")
        if api_key is not None:
            try:
                set_(self, "auth", BearerAuth(api_key))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{owner}: api_key: {exc}") from None
        self._check_models(owner)
        if self.tasks is not None:
            tasks = frozenset(self.tasks)
            unknown = tasks - TASKS.keys()
            if unknown:
                raise ValueError(
                    f"{owner}: unknown tasks {sorted(unknown)}; known: {sorted(TASKS)}"
                )
            set_(self, "tasks", tasks)
        if self.price is not None and not isinstance(self.price, Price):
            raise TypeError(f"{owner}: price must be a maaskit.Price")
        if self.budget is not None and not isinstance(self.budget, Budget):
            raise TypeError(f"{owner}: budget must be a maaskit.Budget")
        if self.max_context is not None and (
            isinstance(self.max_context, bool)
            or not isinstance(self.max_context, int)
            or self.max_context <= 0
        ):
            raise ValueError(
                f"{owner}: max_context must be a positive int, got {self.max_context!r}"
            )
        weight = _number(owner, "weight", self.weight)
        if not weight:
            raise ValueError(f"{owner}: weight must be > 0")
        set_(self, "tags", _str_map(owner, "tags", self.tags))
        set_(self, "headers", _str_map(owner, "headers", self.headers))
        quality = {}
        if not isinstance(self.quality, Mapping):
            raise TypeError(f"{owner}: quality must be a mapping of task or model to a score")
        for key, score in self.quality.items():
            value = _number(owner, f"quality[{key!r}]", score)
            if not isinstance(key, str) or value is None or value > 1:
                raise ValueError(f"{owner}: quality[{key!r}] must be a score in [0, 1]")
            quality[key] = value
        set_(self, "quality", quality)
        if self.timeout is not None:
            set_(self, "timeout", Timeout.coerce(self.timeout))
        if self.verify is not None and not isinstance(self.verify, (bool, str, ssl.SSLContext)):
            raise TypeError(f"{owner}: verify must be a bool, a CA bundle path or an SSLContext")
        statuses = frozenset(self.failover_statuses)
        if any(isinstance(s, bool) or not isinstance(s, int) for s in statuses):
            raise TypeError(f"{owner}: failover_statuses must be HTTP status ints")
        set_(self, "failover_statuses", statuses)
        try:
            set_(self, "middleware", check_middleware(self.middleware))
        except TypeError as exc:
            raise TypeError(f"{owner}: {exc}") from None

    def _check_models(self, owner: str) -> None:
        if self.models is None:
            return
        models = _str_map(owner, "models", self.models)
        seen: dict[str, str] = {}
        for public, private in models.items():
            if not public or not private:
                raise ValueError(f"{owner}: models entries must be non-empty names")
            if private in seen:
                raise ValueError(
                    f"{owner}: models maps both {seen[private]!r} and {public!r} to {private!r}"
                )
            seen[private] = public
        object.__setattr__(self, "models", models)

    # -- what the router asks ---------------------------------------------------------------

    def model_name(self, public: str) -> str | None:
        """This endpoint's name for the public model name, or ``None`` if it does not serve it."""
        if self.models is None:
            return public
        return self.models.get(public)

    def serves_task(self, task: str) -> bool:
        if self.tasks is not None:
            return task in self.tasks
        return self.protocol.supports(TASKS[task])

    @property
    def tls_key(self) -> tuple[Any, Any] | None:
        """What needs an HTTP client of its own (TLS settings live on the connection pool)."""
        if self.verify is None and self.cert is None:
            return None
        return (self.verify, self.cert)
