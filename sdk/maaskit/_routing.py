"""Routing policies: the order in which a call tries the endpoints that can serve it.

A policy sees only endpoints that passed the capability filters (task, model, context length,
tags, budget, breaker) and returns them best first; the call tries them in that order and
fails over down the list. Built-in policies are deterministic given the live statistics, so
tests drive them with scripted latencies, loads and prices. Any callable
``(candidates, request) -> ordered candidates`` is a policy too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from pydantic import BaseModel

from ._endpoint import Endpoint
from ._model_fields import field_of
from .types import ChatRequest, ClassificationRequest, CompletionRequest, EmbeddingRequest

__all__ = [
    "POLICIES",
    "Candidate",
    "PolicyFn",
    "RouteRequest",
    "RoutingPolicy",
    "estimate_tokens",
    "make_policy",
    "route_request",
]

# Without ``max_tokens`` the cost of an answer is unknown; this many output tokens is what a
# chat answer of a few paragraphs takes, a fair middle for comparing prices.
DEFAULT_OUTPUT_TOKENS = 256


def estimate_tokens(text: str) -> int:
    """About four characters of English per token (OpenAI's rule of thumb): a cheap, local
    estimate for filtering and pricing, never for billing (the ledger charges what the
    provider reports)."""
    return math.ceil(len(text) / 4)


@dataclass
class RouteRequest:
    """What a policy knows of a call: the task, the public model name, the estimated prompt
    tokens, the requested output limit, whether it streams, and the call's ``tags``."""

    task: str
    model: str
    prompt_tokens: int = 0
    max_tokens: int | None = None
    stream: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def output_tokens(self) -> int:
        if self.max_tokens is not None:
            return self.max_tokens
        return DEFAULT_OUTPUT_TOKENS if self.task in ("chat", "complete") else 0


@dataclass(frozen=True)
class Candidate:
    """An eligible endpoint with its live statistics.

    ``latency`` is the EWMA in seconds (time to first chunk for streams), ``None`` until
    measured; ``stale`` is true when it was last measured long ago (or before a recovery), so
    ``fastest`` tries it again instead of trusting an old number; ``estimated_cost`` is in US
    dollars (``None`` without a price); ``quality`` the measured score for this call's model
    or task.
    """

    endpoint: Endpoint
    in_flight: int = 0
    latency: float | None = None
    stale: bool = True
    estimated_cost: float | None = None
    quality: float | None = None

    @property
    def name(self) -> str:
        return self.endpoint.name


PolicyFn: TypeAlias = Callable[[Sequence[Candidate], RouteRequest], Sequence[Any]]
"""A user policy: returns candidates (or their endpoints) best first; leaving one out skips it."""


class RoutingPolicy:
    """A built-in policy. ``order`` returns the candidates best first and, for the ones it
    leaves out, why."""

    name = "priority"

    def order(
        self, candidates: Sequence[Candidate], request: RouteRequest
    ) -> tuple[list[Candidate], dict[str, str]]:
        return list(candidates), {}


class Priority(RoutingPolicy):
    """The endpoints in the order given: the first that works serves the call."""

    name = "priority"


class RoundRobin(RoutingPolicy):
    """Smooth weighted round robin (nginx's): over ``sum(weights)`` calls each endpoint leads
    ``weight`` times, interleaved rather than in runs."""

    name = "round_robin"

    def __init__(self) -> None:
        self._current: dict[str, float] = {}

    def order(
        self, candidates: Sequence[Candidate], request: RouteRequest
    ) -> tuple[list[Candidate], dict[str, str]]:
        if len(candidates) < 2:
            return list(candidates), {}
        total = 0.0
        for candidate in candidates:
            weight = candidate.endpoint.weight
            total += weight
            self._current[candidate.name] = self._current.get(candidate.name, 0.0) + weight
        ranked = sorted(candidates, key=lambda c: -self._current[c.name])
        self._current[ranked[0].name] -= total
        return ranked, {}


class LeastBusy(RoutingPolicy):
    """Fewest calls in flight first (ties keep the configured order)."""

    name = "least_busy"

    def order(
        self, candidates: Sequence[Candidate], request: RouteRequest
    ) -> tuple[list[Candidate], dict[str, str]]:
        return sorted(candidates, key=lambda c: c.in_flight), {}


def _cost_key(candidate: Candidate) -> float:
    return math.inf if candidate.estimated_cost is None else candidate.estimated_cost


class Cheapest(RoutingPolicy):
    """Lowest estimated cost first (the endpoint's price applied to the call's estimated
    prompt tokens and its ``max_tokens``); endpoints without a price come last."""

    name = "cheapest"

    def order(
        self, candidates: Sequence[Candidate], request: RouteRequest
    ) -> tuple[list[Candidate], dict[str, str]]:
        return sorted(candidates, key=_cost_key), {}


def _latency_key(candidate: Candidate) -> tuple[int, float]:
    # Unmeasured and stale endpoints first: that is the exploration that lets a recovered or
    # new endpoint win back its place; one call measures it.
    if candidate.latency is None or candidate.stale:
        return (0, 0.0)
    return (1, candidate.latency)


class Fastest(RoutingPolicy):
    """Lowest measured latency (EWMA; time to first chunk for streams) first."""

    name = "fastest"

    def order(
        self, candidates: Sequence[Candidate], request: RouteRequest
    ) -> tuple[list[Candidate], dict[str, str]]:
        return sorted(candidates, key=_latency_key), {}


class BestValue(RoutingPolicy):
    """The cheapest endpoint whose measured quality meets the floor, then the fastest among
    equal prices. Endpoints without a measurement, or below the floor, are skipped."""

    name = "best_value"

    def __init__(self, min_quality: float | None) -> None:
        self.min_quality = min_quality

    def order(
        self, candidates: Sequence[Candidate], request: RouteRequest
    ) -> tuple[list[Candidate], dict[str, str]]:
        skipped: dict[str, str] = {}
        kept: list[Candidate] = []
        for candidate in candidates:
            if candidate.quality is None:
                skipped[candidate.name] = (
                    f"no measured quality for {request.model!r} or task {request.task!r}"
                )
            elif self.min_quality is not None and candidate.quality < self.min_quality:
                skipped[candidate.name] = (
                    f"quality {candidate.quality:.3f} below the floor {self.min_quality:.3f}"
                )
            else:
                kept.append(candidate)
        kept.sort(key=lambda c: (_cost_key(c), _latency_key(c), -(c.quality or 0.0)))
        return kept, skipped


class CallablePolicy(RoutingPolicy):
    name = "callable"

    def __init__(self, function: PolicyFn) -> None:
        self.function = function
        self.name = getattr(function, "__name__", "callable")

    def order(
        self, candidates: Sequence[Candidate], request: RouteRequest
    ) -> tuple[list[Candidate], dict[str, str]]:
        by_name = {c.name: c for c in candidates}
        by_endpoint = {id(c.endpoint): c for c in candidates}
        chosen = self.function(list(candidates), request)
        if isinstance(chosen, (str, bytes)) or not isinstance(chosen, Sequence):
            raise TypeError(
                f"routing policy {self.name!r} must return a sequence of candidates, "
                f"got {type(chosen).__name__}"
            )
        ordered: list[Candidate] = []
        for item in chosen:
            candidate = (
                by_name.get(item.name)
                if isinstance(item, Candidate)
                else by_endpoint.get(id(item))
                if isinstance(item, Endpoint)
                else None
            )
            if candidate is None:
                raise TypeError(
                    f"routing policy {self.name!r} returned {item!r}, which is not one of "
                    "the candidates it was given"
                )
            if candidate not in ordered:
                ordered.append(candidate)
        skipped = {
            c.name: f"left out by routing policy {self.name!r}"
            for c in candidates
            if c not in ordered
        }
        return ordered, skipped


POLICIES: tuple[str, ...] = (
    "priority",
    "round_robin",
    "least_busy",
    "cheapest",
    "fastest",
    "best_value",
)


def make_policy(routing: Any, *, min_quality: float | None = None) -> RoutingPolicy:
    if isinstance(routing, RoutingPolicy):
        return routing
    if isinstance(routing, str):
        builders: dict[str, Callable[[], RoutingPolicy]] = {
            "priority": Priority,
            "round_robin": RoundRobin,
            "least_busy": LeastBusy,
            "cheapest": Cheapest,
            "fastest": Fastest,
            "best_value": lambda: BestValue(min_quality),
        }
        builder = builders.get(routing)
        if builder is None:
            raise ValueError(
                f"unknown routing policy {routing!r}; choose one of {', '.join(POLICIES)} "
                "or pass a callable (candidates, request) -> ordered candidates"
            )
        return builder()
    if callable(routing):
        return CallablePolicy(routing)
    raise TypeError(f"routing must be a policy name or a callable, got {type(routing).__name__}")


def route_request(
    task: str, request: BaseModel, tags: Mapping[str, str], *, estimate: bool = True
) -> RouteRequest:
    """What the router needs of a neutral request, read without any provider; the prompt's
    tokens are estimated only with ``estimate``."""
    model = str(field_of(request, "model", ""))
    if not estimate:
        return RouteRequest(task=task, model=model, tags=tags)
    params: Mapping[str, Any] = field_of(request, "params", {})
    prompt = 0
    if isinstance(request, ChatRequest):
        for message in request.messages:
            content = message.content
            if isinstance(content, str):
                prompt += estimate_tokens(content)
            elif isinstance(content, list):
                prompt += sum(
                    estimate_tokens(str(part.get("text", "")))
                    for part in content
                    if isinstance(part, Mapping)
                )
            prompt += 4  # role and separators, as OpenAI's counting guide does
    elif isinstance(request, CompletionRequest):
        texts = [request.prompt] if isinstance(request.prompt, str) else request.prompt
        prompt = sum(estimate_tokens(text) for text in texts)
    elif isinstance(request, (EmbeddingRequest, ClassificationRequest)):
        texts = [request.input] if isinstance(request.input, str) else request.input
        prompt = sum(estimate_tokens(text) for text in texts)
    limit = params.get("max_tokens", params.get("max_completion_tokens"))
    max_tokens = limit if isinstance(limit, int) and not isinstance(limit, bool) else None
    return RouteRequest(
        task=task,
        model=model,
        prompt_tokens=prompt,
        max_tokens=max_tokens,
        stream=bool(field_of(request, "stream", False)),
        tags=tags,
    )
