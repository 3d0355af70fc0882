"""Routing policies and circuit breakers on scripted latencies, loads, prices and a fake clock
(no HTTP: the router is sans-I/O)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import maaskit
import pytest
from maaskit._breaker import BreakerState, CircuitBreaker
from maaskit._ledger import Ledger
from maaskit._retry_budget import RetryThrottle
from maaskit._router import Router


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """The breaker's state, read afresh: through a call, mypy does not carry the narrowing of
    one ``assert ... is`` over to the next after the breaker changed."""
    return breaker.state


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def endpoints(*names: str, **fields: Any) -> list[maaskit.Endpoint]:
    return [
        maaskit.Endpoint(name=n, provider="openai", base_url=f"http://{n}.test/v1", **fields)
        for n in names
    ]


def make_router(eps: Sequence[maaskit.Endpoint], routing: Any, **options: Any) -> Router:
    clock = options.pop("clock", FakeClock())
    return Router(eps, routing, ledger=Ledger(clock), clock=clock, **options)


def order(router: Router, **request: Any) -> list[str]:
    request.setdefault("task", "chat")
    request.setdefault("model", "m")
    return [e.name for e in router.plan(maaskit.RouteRequest(**request)).candidates]


def test_priority_keeps_the_configured_order() -> None:
    assert order(make_router(endpoints("a", "b", "c"), "priority")) == ["a", "b", "c"]


def test_round_robin_follows_weights_interleaved() -> None:
    eps = [
        maaskit.Endpoint(name="heavy", provider="openai", base_url="http://h.test", weight=2),
        maaskit.Endpoint(name="light", provider="openai", base_url="http://l.test", weight=1),
    ]
    router = make_router(eps, "round_robin")

    leaders = [order(router)[0] for _ in range(6)]

    assert Counter(leaders) == {"heavy": 4, "light": 2}
    assert leaders[:3] == ["heavy", "light", "heavy"]  # smooth: no runs of the heavy one
    assert sorted(order(router)) == ["heavy", "light"]  # the rest follow as fallbacks


def test_least_busy_counts_calls_in_flight() -> None:
    router = make_router(endpoints("a", "b", "c"), "least_busy")
    assert router.acquire("a")
    assert router.acquire("a")
    assert router.acquire("b")

    assert order(router) == ["c", "b", "a"]

    router.succeeded("a", 0.1)
    router.succeeded("a", 0.1)
    assert order(router) == ["a", "c", "b"]


def test_cheapest_estimates_from_price_and_tokens() -> None:
    eps = [
        maaskit.Endpoint(
            name="dear-out",
            provider="openai",
            base_url="http://a.test",
            price=maaskit.Price(input=0.1, output=10.0),
        ),
        maaskit.Endpoint(
            name="dear-in",
            provider="openai",
            base_url="http://b.test",
            price=maaskit.Price(input=5.0, output=0.5),
        ),
        maaskit.Endpoint(name="unpriced", provider="openai", base_url="http://c.test"),
    ]
    router = make_router(eps, "cheapest")

    # A long prompt with a short answer favours cheap input; the reverse, cheap output.
    assert order(router, prompt_tokens=10_000, max_tokens=10) == ["dear-out", "dear-in", "unpriced"]
    assert order(router, prompt_tokens=10, max_tokens=10_000) == ["dear-in", "dear-out", "unpriced"]


def test_fastest_uses_the_ewma_and_explores_unmeasured_and_stale_endpoints() -> None:
    clock = FakeClock()
    router = make_router(endpoints("a", "b", "c"), "fastest", clock=clock, explore_after=60.0)
    for name, latency in (("a", 0.30), ("b", 0.10)):
        assert router.acquire(name)
        router.succeeded(name, latency)

    assert order(router) == ["c", "b", "a"]  # c was never measured: it is tried first
    assert router.acquire("c")
    router.succeeded("c", 0.20)
    assert order(router) == ["b", "c", "a"]

    # b slows down: the average follows within a few calls.
    for _ in range(4):
        assert router.acquire("b")
        router.succeeded("b", 0.50)
    assert order(router) == ["c", "a", "b"]

    # Long unmeasured, a is tried again in case it got faster.
    clock.now += 30
    for name in ("b", "c"):
        assert router.acquire(name)
        router.succeeded(name, 0.4 if name == "b" else 0.2)
    clock.now += 31
    assert order(router)[0] == "a"


def test_a_callable_policy_orders_and_may_leave_endpoints_out() -> None:
    def eu_first(candidates: Sequence[maaskit.Candidate], request: maaskit.RouteRequest) -> Any:
        return [c.endpoint for c in candidates if c.name != "banned"][::-1]

    router = make_router(endpoints("a", "banned", "b"), eu_first)
    plan = router.plan(maaskit.RouteRequest(task="chat", model="m"))

    assert [e.name for e in plan.candidates] == ["b", "a"]
    assert plan.skipped == {"banned": "left out by routing policy 'eu_first'"}

    with pytest.raises(TypeError, match="not one of the candidates"):
        make_router(endpoints("a"), lambda c, r: ["a"]).plan(
            maaskit.RouteRequest(task="chat", model="m")
        )


def test_best_value_skips_unmeasured_and_weak_endpoints_with_reasons() -> None:
    eps = [
        maaskit.Endpoint(
            name=n,
            provider="openai",
            base_url=f"http://{n}.test",
            price=maaskit.Price(input=p),
            quality=q,
        )
        for n, p, q in (
            ("weak", 0.1, {"chat": 0.5}),
            ("fine", 1.0, {"m": 0.9}),
            ("fine-dear", 2.0, {"m": 0.95}),
            ("unknown", 0.0, {}),
        )
    ]
    router = make_router(eps, "best_value", min_quality=0.8)
    plan = router.plan(maaskit.RouteRequest(task="chat", model="m", prompt_tokens=1000))

    assert [e.name for e in plan.candidates] == ["fine", "fine-dear"]
    assert plan.skipped["weak"] == "quality 0.500 below the floor 0.800"
    assert "no measured quality" in plan.skipped["unknown"]
    # At the same price, the better measured quality leads.
    free = router.plan(maaskit.RouteRequest(task="chat", model="m", prompt_tokens=0))
    assert [e.name for e in free.candidates] == ["fine-dear", "fine"]


# -- circuit breakers ---------------------------------------------------------------------------


def test_breaker_opens_on_consecutive_failures_and_probes_once() -> None:
    breaker = CircuitBreaker(maaskit.BreakerPolicy(failure_threshold=3, cooldown=10.0))
    breaker.record_failure(0.0)
    breaker.record_failure(1.0)
    assert state_of(breaker) is BreakerState.CLOSED
    breaker.record_failure(2.0)
    assert (state_of(breaker), breaker.retry_at) == (BreakerState.OPEN, 12.0)

    assert not breaker.acquire(11.9)
    assert breaker.acquire(12.0)  # the one probe
    assert state_of(breaker) is BreakerState.HALF_OPEN
    assert not breaker.acquire(12.0)  # a second caller waits for the probe's outcome
    assert breaker.record_success(12.5)
    assert state_of(breaker) is BreakerState.CLOSED


def test_a_failed_probe_reopens_with_a_doubled_cooldown_up_to_the_cap() -> None:
    policy = maaskit.BreakerPolicy(failure_threshold=1, cooldown=10.0, max_cooldown=25.0)
    breaker = CircuitBreaker(policy)
    breaker.record_failure(0.0)
    assert breaker.retry_at == 10.0
    assert breaker.acquire(10.0)
    breaker.record_failure(10.0)
    assert breaker.retry_at == 30.0  # 20 s
    assert breaker.acquire(30.0)
    breaker.record_failure(30.0)
    assert breaker.retry_at == 55.0  # capped at 25 s
    assert breaker.times_opened == 3


def test_breaker_opens_on_the_failure_rate_over_its_window() -> None:
    policy = maaskit.BreakerPolicy(
        failure_threshold=100, failure_rate=0.5, min_calls=4, window=10.0
    )
    breaker = CircuitBreaker(policy)
    # Alternating outcomes never make two failures in a row, but half of them failed.
    breaker.record_success(0.0)
    breaker.record_failure(1.0)
    breaker.record_success(2.0)
    assert state_of(breaker) is BreakerState.CLOSED  # fewer than min_calls
    breaker.record_failure(3.0)
    assert state_of(breaker) is BreakerState.OPEN


def test_old_outcomes_leave_the_window() -> None:
    policy = maaskit.BreakerPolicy(failure_threshold=100, failure_rate=0.5, min_calls=2, window=5)
    breaker = CircuitBreaker(policy)
    breaker.record_failure(0.0)
    breaker.record_success(1.0)
    breaker.record_success(20.0)  # the failure at 0 s is out of the window
    breaker.record_failure(21.0)
    assert state_of(breaker) is BreakerState.OPEN  # 1 of 2 in the window: at the rate
    assert breaker.opened_at == 21.0


def test_a_half_open_probe_is_freed_when_its_attempt_ends_without_an_outcome() -> None:
    clock = FakeClock()
    router = make_router(
        endpoints("a"), "priority", clock=clock, breaker=maaskit.BreakerPolicy(failure_threshold=1)
    )
    assert router.acquire("a")
    router.failed("a", counts=True)
    clock.now += 30.0
    assert router.acquire("a")  # the probe
    router.failed("a", counts=False)  # a 400: says nothing of health, frees the probe
    assert router.acquire("a")


# -- the retry budget ---------------------------------------------------------------------------


def test_retry_throttle_allows_a_share_of_first_attempts_per_window() -> None:
    throttle = RetryThrottle(maaskit.RetryBudget(ratio=0.5, min_retries=0, window=10.0))
    for t in (0.0, 1.0, 2.0, 3.0):
        throttle.first_attempt(t)
    assert throttle.try_retry(4.0)
    assert throttle.try_retry(4.0)
    assert not throttle.try_retry(4.0)  # 2 retries for 4 first attempts
    assert throttle.denied == 1
    # Once the window moves on, old first attempts and retries no longer count.
    for t in (15.0, 15.0):
        throttle.first_attempt(t)
    assert throttle.try_retry(15.5)
    assert not throttle.try_retry(15.5)
