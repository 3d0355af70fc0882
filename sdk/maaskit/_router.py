"""The router: which endpoints may serve a call, in which order, and how each is doing.

Sans-I/O and shared by ``Client`` and ``AsyncClient``: it decides and records, the transports
send. For every call it filters the endpoints by what they can do (task, model, context
length, tags, budget) and by their breaker, orders the rest with the routing policy, and says
why each left-out endpoint was skipped. Attempts report back their outcome and latency, which
drive the breakers, the EWMA latencies ``fastest`` uses and the in-flight counts
``least_busy`` uses.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._breaker import BreakerPolicy, BreakerState, CircuitBreaker
from ._endpoint import Endpoint
from ._ledger import Ledger
from ._routing import (
    Candidate,
    Fastest,
    LeastBusy,
    Priority,
    RoundRobin,
    RouteRequest,
    RoutingPolicy,
    make_policy,
)

__all__ = ["EndpointHealth", "Plan", "Router"]

# EWMA weight of a new latency sample: a few calls follow a change, one outlier does not.
EWMA_ALPHA = 0.3


@dataclass(frozen=True)
class EndpointHealth:
    """One endpoint's state as plain data; times are on the client's clock (monotonic s)."""

    name: str
    state: str
    consecutive_failures: int
    times_opened: int
    opened_at: float | None
    retry_at: float | None
    latency_ms: float | None
    in_flight: int


@dataclass
class _Live:
    endpoint: Endpoint
    breaker: CircuitBreaker | None
    in_flight: int = 0
    latency: float | None = None
    measured_at: float | None = None
    quality: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """A call's route: endpoints to try best first, why the others were skipped, and — when
    none is available now but a breaker reopens within ``wait_for_recovery`` — how long to
    wait before planning again."""

    candidates: list[Endpoint]
    skipped: dict[str, str]
    wait: float | None = None


class Router:
    """Routing state of one client. Thread-safe (a sync client may be shared by threads)."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        routing: Any = "priority",
        *,
        ledger: Ledger,
        clock: Callable[[], float],
        breaker: BreakerPolicy | None = None,
        wait_for_recovery: float | None = None,
        min_quality: float | None = None,
        explore_after: float = 60.0,
    ) -> None:
        if isinstance(endpoints, Endpoint) or not isinstance(endpoints, Sequence):
            raise TypeError("endpoints must be a list of maaskit.Endpoint")
        if not endpoints:
            raise ValueError("endpoints must not be empty")
        names: set[str] = set()
        for endpoint in endpoints:
            if not isinstance(endpoint, Endpoint):
                raise TypeError(f"endpoints must be maaskit.Endpoint, got {endpoint!r}")
            if endpoint.name in names:
                raise ValueError(f"duplicate endpoint name {endpoint.name!r}")
            names.add(endpoint.name)
        if breaker is not None and not isinstance(breaker, BreakerPolicy):
            raise TypeError("breaker must be a maaskit.BreakerPolicy or None")
        if wait_for_recovery is not None and (
            isinstance(wait_for_recovery, bool)
            or not isinstance(wait_for_recovery, (int, float))
            or wait_for_recovery < 0
        ):
            raise ValueError(f"wait_for_recovery must be seconds >= 0, got {wait_for_recovery!r}")
        if min_quality is not None and not 0 <= min_quality <= 1:
            raise ValueError(f"min_quality must be in [0, 1], got {min_quality!r}")
        self.endpoints = tuple(endpoints)
        self.policy: RoutingPolicy = make_policy(routing, min_quality=min_quality)
        self.breaker_policy = breaker
        self.wait_for_recovery = wait_for_recovery
        self.explore_after = explore_after
        self._ledger = ledger
        self._clock = clock
        # Re-entrant: a user policy called under it may read health().
        self._lock = threading.RLock()
        self._live = {
            e.name: _Live(e, CircuitBreaker(breaker) if breaker else None, quality=dict(e.quality))
            for e in endpoints
        }
        for endpoint in endpoints:
            ledger.watch_period(endpoint.budget)
        # Token estimates cost a pass over the prompt: only made when something uses them.
        self.needs_estimate = not isinstance(
            self.policy, (Priority, RoundRobin, LeastBusy, Fastest)
        ) or any(
            e.max_context is not None or e.price is not None or e.budget is not None
            for e in endpoints
        )
        # One endpoint that filters nothing and has no breaker has one plan for every call
        # it can serve (most clients): made once, not per call.
        (only, *others) = endpoints
        self._fixed_plan = (
            Plan([only], {})
            if not others
            and not self.needs_estimate  # no policy that could reorder or refuse it
            and breaker is None
            and only.models is None
            and only.tasks is None
            and only.max_context is None
            and only.budget is None
            else None
        )

    def __repr__(self) -> str:
        names = ", ".join(e.name for e in self.endpoints)
        return f"Router(policy={self.policy.name!r}, endpoints=[{names}])"

    def endpoint(self, name: str) -> Endpoint:
        return self._live[name].endpoint

    # -- planning ----------------------------------------------------------------------------

    def _capability(self, endpoint: Endpoint, request: RouteRequest) -> str | None:
        """Why this endpoint cannot serve the call at all, or ``None``."""
        if not endpoint.serves_task(request.task):
            return f"does not serve the {request.task!r} task"
        if request.task != "models" and endpoint.model_name(request.model) is None:
            return f"does not serve model {request.model!r}"
        for key, wanted in request.tags.items():
            have = endpoint.tags.get(key)
            if have != wanted:
                return f"tag {key}={wanted!r} wanted, endpoint has {have!r}"
        if endpoint.max_context is not None:
            needed = request.prompt_tokens + (request.max_tokens or 0)
            if needed > endpoint.max_context:
                return f"needs ~{needed} tokens of context, max_context is {endpoint.max_context}"
        budget = endpoint.budget
        if budget is not None:
            spent = self._ledger.spent(budget.period, endpoint.name)
            estimate = self._estimate(endpoint, request) or 0.0
            if spent + estimate > budget.max_cost:
                return f"budget spent (${spent:.6f} of ${budget.max_cost:.6f})"
        return None

    @staticmethod
    def _estimate(endpoint: Endpoint, request: RouteRequest) -> float | None:
        if endpoint.price is None:
            return None
        return endpoint.price.cost(request.prompt_tokens, request.output_tokens)

    def estimate_cost(self, name: str, request: RouteRequest) -> float | None:
        return self._estimate(self._live[name].endpoint, request)

    def plan(self, request: RouteRequest) -> Plan:
        fixed = self._fixed_plan
        if fixed is not None and not request.tags and self.endpoints[0].serves_task(request.task):
            return fixed
        now = self._clock()
        skipped: dict[str, str] = {}
        candidates: list[Candidate] = []
        earliest_retry: float | None = None
        with self._lock:
            for live in self._live.values():
                endpoint = live.endpoint
                reason = self._capability(endpoint, request)
                if reason is not None:
                    skipped[endpoint.name] = reason
                    continue
                breaker = live.breaker
                if breaker is not None and not breaker.available(now):
                    retry_at = breaker.retry_at
                    if retry_at is not None and breaker.state is BreakerState.OPEN:
                        skipped[endpoint.name] = (
                            f"circuit open after {breaker.consecutive_failures} failure(s), "
                            f"retry in {max(retry_at - now, 0.0):.2f} s"
                        )
                        if earliest_retry is None or retry_at < earliest_retry:
                            earliest_retry = retry_at
                    else:
                        skipped[endpoint.name] = "circuit half-open, its probe is in flight"
                    continue
                candidates.append(self._candidate(live, request, now))
            ordered, dropped = self.policy.order(candidates, request)
        skipped.update(dropped)
        wait = None
        if not ordered and earliest_retry is not None and self.wait_for_recovery is not None:
            delay = max(earliest_retry - now, 0.0)
            if delay <= self.wait_for_recovery:
                wait = delay
        return Plan([c.endpoint for c in ordered], skipped, wait)

    def _candidate(self, live: _Live, request: RouteRequest, now: float) -> Candidate:
        stale = live.measured_at is None or now - live.measured_at > self.explore_after
        quality = live.quality.get(request.model, live.quality.get(request.task))
        return Candidate(
            endpoint=live.endpoint,
            in_flight=live.in_flight,
            latency=live.latency,
            stale=stale,
            estimated_cost=self._estimate(live.endpoint, request),
            quality=quality,
        )

    # -- attempts ----------------------------------------------------------------------------

    def acquire(self, name: str) -> bool:
        """Claim an attempt on ``name``: false if its breaker closed the door meanwhile."""
        live = self._live[name]
        with self._lock:
            if live.breaker is not None and not live.breaker.acquire(self._clock()):
                return False
            live.in_flight += 1
            return True

    def available(self, name: str, now: float) -> bool:
        """Whether ``name`` could take an attempt now (nothing is claimed)."""
        live = self._live[name]
        with self._lock:
            return live.breaker is None or live.breaker.available(now)

    def release(self, name: str) -> None:
        """A call that held ``name`` (an open stream) is done with it."""
        live = self._live[name]
        with self._lock:
            live.in_flight -= 1

    def succeeded(self, name: str, latency: float, *, release: bool = True) -> None:
        """An attempt succeeded after ``latency`` seconds (time to first chunk for a stream,
        which keeps its place in flight until ``release``)."""
        live = self._live[name]
        now = self._clock()
        with self._lock:
            if release:
                live.in_flight -= 1
            recovered = live.breaker is not None and live.breaker.record_success(now)
            if live.latency is None or recovered:
                # After a recovery the old average describes a backend that no longer exists.
                live.latency = latency
            else:
                live.latency += EWMA_ALPHA * (latency - live.latency)
            live.measured_at = now

    def failed(
        self,
        name: str,
        *,
        counts: bool,
        retry_after: float | None = None,
        after_open: bool = False,
    ) -> None:
        """An attempt failed; ``counts`` says whether the failure speaks of the backend's
        health (connection errors, 408, 429, 5xx) — a 400 does not. ``after_open``: a stream
        that had started broke (its success was already recorded)."""
        live = self._live[name]
        with self._lock:
            live.in_flight -= 1
            if live.breaker is None:
                return
            if counts:
                live.breaker.record_failure(self._clock(), retry_after)
            elif not after_open:
                live.breaker.release()

    # -- reading -----------------------------------------------------------------------------

    def health(self) -> dict[str, EndpointHealth]:
        """Per endpoint: breaker state, consecutive failures, when it opened and may be
        retried, EWMA latency and calls in flight."""
        report: dict[str, EndpointHealth] = {}
        with self._lock:
            for name, live in self._live.items():
                breaker = live.breaker
                report[name] = EndpointHealth(
                    name=name,
                    state=breaker.state.value if breaker else BreakerState.CLOSED.value,
                    consecutive_failures=breaker.consecutive_failures if breaker else 0,
                    times_opened=breaker.times_opened if breaker else 0,
                    opened_at=breaker.opened_at if breaker else None,
                    retry_at=breaker.retry_at if breaker else None,
                    latency_ms=None if live.latency is None else live.latency * 1000,
                    in_flight=live.in_flight,
                )
        return report

    def quality(self, name: str) -> dict[str, float]:
        with self._lock:
            return dict(self._live[name].quality)

    def set_quality(self, name: str, key: str, score: float) -> None:
        if name not in self._live:
            raise KeyError(f"no endpoint named {name!r}")
        if not 0 <= score <= 1:
            raise ValueError(f"quality of {name!r} for {key!r} must be in [0, 1], got {score!r}")
        with self._lock:
            self._live[name].quality[key] = float(score)

    def load_eval(self, report: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, float]:
        """Fill measured qualities from a ``maaskit eval`` JSON report (a mapping or a path).

        The report names its task and model and, per endpoint, a ``quality`` score in [0, 1];
        the score is stored under the model name (and the task). Endpoints the report names
        that this router does not have are ignored; returns what was loaded.
        """
        if not isinstance(report, Mapping):
            with open(report, encoding="utf-8") as file:
                report = json.load(file)
        if not isinstance(report, Mapping):
            raise ValueError("an eval report must be a JSON object")
        task, model = report.get("task"), report.get("model")
        results = report.get("endpoints")
        if not isinstance(results, list) or not isinstance(task, str):
            raise ValueError("an eval report needs 'task' and a list of 'endpoints'")
        loaded: dict[str, float] = {}
        for result in results:
            if not isinstance(result, Mapping):
                raise ValueError("each endpoint of an eval report must be an object")
            name, score = result.get("name"), result.get("quality")
            if name not in self._live or not isinstance(score, (int, float)):
                continue
            for key in (task, model):
                if isinstance(key, str):
                    self.set_quality(str(name), key, float(score))
            loaded[str(name)] = float(score)
        return loaded
