"""What one logical call knows, and what every call of a client shares (``Core``).

``CallState`` is the state half of ``Call``: its attributes are set here once, and the
classes built on it (``CallRecords``, then ``Call``) only read and update them. ``Call``
inherits rather than holds these parts, so no attribute read on the per-attempt path goes
through another object (the request building was tuned by instruction counts, #19).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ._call_options import CallOptions
from ._call_requests import PreparedRequest, RequestForms
from ._endpoint import Budget, Endpoint
from ._exceptions import AttemptFailure, InvalidRequestError
from ._ledger import Ledger
from ._options import ClientOptions
from ._retry_budget import RetryThrottle
from ._router import Plan, Router
from ._routing import route_request
from ._tasks import Task

__all__ = ["CallState", "Core"]


@dataclass
class Core:
    """What every call of one client shares: settings, routing state, ledger, budgets."""

    options: ClientOptions
    router: Router
    ledger: Ledger
    clock: Callable[[], float]
    throttle: RetryThrottle | None = None
    budget: Budget | None = None
    # The client's middleware chain (sync callables for Client, async for AsyncClient).
    middleware: tuple[Any, ...] = ()
    # Shared with ``with_options`` copies: its keys hold everything the parts depend on.
    forms: RequestForms = field(default_factory=RequestForms)


class CallState:
    """State of one logical call across its attempts and endpoints."""

    def __init__(
        self,
        core: Core,
        task: Task[Any, Any, Any],
        request: BaseModel,
        *,
        streaming: bool = False,
        tags: Mapping[str, str] | None = None,
        per_call: CallOptions | None = None,
    ) -> None:
        self.core = core
        self.per_call = per_call
        self._options = per_call.apply(core.options) if per_call is not None else core.options
        self.task = task
        self.neutral = request
        self.streaming = streaming
        self._clock = core.clock
        self._started = core.clock()
        self.route = route_request(
            task.name, request, tags or {}, estimate=core.router.needs_estimate
        )
        self.model = self.route.model or "-"
        # One key for every attempt and endpoint, so a server that honours it runs a retried
        # POST once.
        self.idempotency_key: str | None = per_call.idempotency_key if per_call else None
        self._prepared: dict[str, PreparedRequest] = {}
        # Endpoints whose provider cannot express this request (kserve with n=2, a body JSON
        # cannot carry): skipped like an incapable endpoint, without spending an attempt.
        self._refused: dict[str, InvalidRequestError] = {}
        self._tried: list[str] = []
        self.history: list[AttemptFailure] = []
        self.plan: Plan = core.router.plan(self.route)
        self.current: PreparedRequest | None = None
        self._next: Endpoint | None = None
        self.attempt_started = 0.0
        self._retry_number = 0

    @property
    def options(self) -> ClientOptions:
        return self._options

    @property
    def endpoint(self) -> str:
        """``METHOD URL`` of the current attempt, for errors and logs."""
        return self.current.where if self.current is not None else "-"
