"""Runs a plan against one endpoint, sync (threads) or async (tasks), and measures it.

Endpoints are evaluated one after another, never side by side: two endpoints served from the
same machine (a local server, a laptop GPU) would otherwise slow each other down and the
latencies would measure the contention, not the endpoint.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from .._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    MaaSError,
    NoEndpointAvailable,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
)
from ._plan import Answer, Plan
from ._report import EndpointResult, latency_summary

__all__ = ["CallResult", "ProgressHook", "error_kind", "run_async", "run_sync"]

# The kinds of failure a report counts, by exception class (the first match wins).
_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (AuthenticationError, "auth"),
    (PermissionDeniedError, "permission"),
    (NotFoundError, "not_found"),
    (RateLimitError, "rate_limit"),
    (BadRequestError, "bad_request"),
    (UnprocessableEntityError, "bad_request"),
    (ServerError, "server"),
    (APITimeoutError, "timeout"),
    (APIConnectionError, "connection"),
    (ResponseValidationError, "bad_response"),
)


def error_kind(exc: BaseException) -> str:
    """``auth``, ``not_found``, ``rate_limit``, ``server``, ``timeout``, ``connection``…"""
    if isinstance(exc, NoEndpointAvailable) and exc.errors:
        return error_kind(exc.errors[-1])  # one endpoint per evaluation: its own failure
    for cls, kind in _KINDS:
        if isinstance(exc, cls):
            return kind
    if isinstance(exc, APIStatusError):
        return f"status_{exc.status_code}"
    return "error" if isinstance(exc, MaaSError) else "client_error"


class ProgressHook(Protocol):
    """Told how far each endpoint is (``maaskit.eval.RichProgress`` draws bars)."""

    def start(self, endpoint: str, total: int) -> None: ...

    def advance(self, endpoint: str, count: int) -> None: ...

    def finish(self, endpoint: str) -> None: ...


@dataclass(frozen=True)
class CallResult:
    """What one request gave: the answers (one per input), tokens, cost or the failure."""

    answers: Sequence[Answer]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None


@dataclass
class _Tally:
    """Outcomes of the calls so far; updated under ``lock`` from the worker threads."""

    stop_after_failures: int | None
    answers: dict[int, Answer] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    calls: int = 0
    successes: int = 0
    skipped: int = 0
    inputs_answered: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def should_skip(self) -> bool:
        # An endpoint that failed every one of its first calls (a wrong key, a wrong URL) is not
        # sent the rest: the report already says what is wrong, and retrying each item against
        # a dead endpoint would take minutes.
        with self.lock:
            limit = self.stop_after_failures
            dead = limit is not None and self.successes == 0 and self.calls >= limit
            if dead:
                self.skipped += 1
            return dead

    def record(
        self, indices: Sequence[int], latency_ms: float, outcome: CallResult | BaseException
    ) -> None:
        with self.lock:
            self.calls += 1
            if isinstance(outcome, BaseException):
                kind = error_kind(outcome)
                self.failures[kind] = self.failures.get(kind, 0) + 1
                self.errors.setdefault(kind, f"{type(outcome).__name__}: {outcome}")
                return
            self.successes += 1
            self.latencies_ms.append(latency_ms)
            self.inputs_answered += len(indices)
            for index, answer in zip(indices, outcome.answers, strict=True):
                self.answers[index] = answer
            self.prompt_tokens += outcome.prompt_tokens
            self.completion_tokens += outcome.completion_tokens
            if outcome.cost is not None:
                self.cost = (self.cost or 0.0) + outcome.cost


def _checked(indices: Sequence[int], result: CallResult) -> CallResult:
    if len(result.answers) != len(indices):
        raise ResponseValidationError(
            f"{len(indices)} input(s) sent but {len(result.answers)} answer(s) received"
        )
    return result


@dataclass(frozen=True)
class Target:
    """One endpoint as the runner sees it: its name, provider and price, for the report."""

    name: str
    provider: str
    price: dict[str, float] | None = None


#: ``() -> (prompt tokens, completion tokens, cost)`` so far: the client's usage ledger.
Ledger = Callable[[], tuple[int, int, float]]


def _result(
    target: Target,
    plan: Plan,
    tally: _Tally,
    wall_s: float,
    concurrency: int,
    ledger: Ledger | None,
) -> EndpointResult:
    scored = plan.score(tally.answers)
    answered = tally.inputs_answered
    per_1k = 1000 / answered if answered else 0.0
    prompt_tokens, completion_tokens, cost = (
        tally.prompt_tokens,
        tally.completion_tokens,
        tally.cost,
    )
    if ledger is not None:
        # The ledger counts what the results do not carry: a per-request price, and the
        # tokens of attempts that were retried.
        prompt_tokens, completion_tokens, ledger_cost = ledger()
        cost = ledger_cost if target.price is not None else None
    return EndpointResult(
        name=target.name,
        provider=target.provider,
        quality=scored.quality,
        metrics={**scored.metrics, "concurrency": concurrency},
        items=len(plan.dataset),
        inputs=len(plan.inputs),
        answered=answered,
        skipped=tally.skipped,
        calls=tally.calls,
        failures=dict(sorted(tally.failures.items())),
        error_rate=(tally.calls - tally.successes) / tally.calls if tally.calls else 0.0,
        errors=tally.errors,
        **latency_summary(tally.latencies_ms),
        throughput_per_s=answered / wall_s if wall_s > 0 and answered else None,
        wall_s=wall_s,
        prompt_tokens_per_1k=prompt_tokens * per_1k,
        completion_tokens_per_1k=completion_tokens * per_1k,
        cost_per_1k=cost * per_1k if cost is not None and answered else None,
        price=target.price,
    )


def run_sync(
    target: Target,
    plan: Plan,
    send: Callable[[list[str]], CallResult],
    *,
    concurrency: int,
    clock: Callable[[], float],
    progress: ProgressHook | None,
    stop_after_failures: int | None,
    ledger: Ledger | None = None,
) -> EndpointResult:
    """Sends every call of ``plan`` through ``send`` from ``concurrency`` threads."""
    tally = _Tally(stop_after_failures)

    def one(indices: tuple[int, ...]) -> None:
        if tally.should_skip():
            return
        started = clock()
        try:
            outcome: CallResult | BaseException = _checked(
                indices, send([plan.inputs[i] for i in indices])
            )
        except Exception as exc:  # every failure is counted, none stops the evaluation
            outcome = exc
        tally.record(indices, (clock() - started) * 1000, outcome)
        if progress is not None:
            progress.advance(target.name, 1)

    if progress is not None:
        progress.start(target.name, len(plan.calls))
    started = clock()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="maaskit-eval") as pool:
        for future in [pool.submit(one, call) for call in plan.calls]:
            future.result()
    wall_s = clock() - started
    if progress is not None:
        progress.finish(target.name)
    return _result(target, plan, tally, wall_s, concurrency, ledger)


async def run_async(
    target: Target,
    plan: Plan,
    send: Callable[[list[str]], Awaitable[CallResult]],
    *,
    concurrency: int,
    clock: Callable[[], float],
    progress: ProgressHook | None,
    stop_after_failures: int | None,
    ledger: Ledger | None = None,
) -> EndpointResult:
    """Sends every call of ``plan`` through ``send``, at most ``concurrency`` at a time."""
    tally = _Tally(stop_after_failures)
    queue: asyncio.Queue[tuple[int, ...]] = asyncio.Queue()
    for call in plan.calls:
        queue.put_nowait(call)

    async def worker() -> None:
        while not queue.empty():
            indices = queue.get_nowait()
            if tally.should_skip():
                continue
            started = clock()
            try:
                outcome: CallResult | BaseException = _checked(
                    indices, await send([plan.inputs[i] for i in indices])
                )
            except Exception as exc:
                outcome = exc
            tally.record(indices, (clock() - started) * 1000, outcome)
            if progress is not None:
                progress.advance(target.name, 1)

    if progress is not None:
        progress.start(target.name, len(plan.calls))
    started = clock()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall_s = clock() - started
    if progress is not None:
        progress.finish(target.name)
    return _result(target, plan, tally, wall_s, concurrency, ledger)
