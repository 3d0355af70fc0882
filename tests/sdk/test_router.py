"""The router through the real transports (respx in place of the network), sync and async:
failover with one exact attempt budget, breakers on a fake clock, waiting for recovery, the
retry budget, the ledger and budgets, streams that fail over only before their first chunk."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
import maaskit
import pytest
import respx

from .conftest import SECRET, Harness, TrackingStream, chat_body, chunk_event, sse

MESSAGES = [{"role": "user", "content": "hi"}]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def url(name: str) -> str:
    return f"http://{name}.test/v1"


def endpoint(name: str, **fields: Any) -> maaskit.Endpoint:
    fields.setdefault("provider", "openai")
    fields.setdefault("base_url", url(name))
    return maaskit.Endpoint(name=name, **fields)


def router(
    harness: Harness,
    endpoints: Sequence[maaskit.Endpoint],
    clock: FakeClock | None = None,
    **options: Any,
) -> Any:
    """A router client whose retry sleeps are recorded (and move the fake clock)."""
    options.setdefault("retry_policy", maaskit.RetryPolicy(jitter=lambda: 1.0))
    if clock is not None:
        options["clock"] = clock

    def slept(delay: float) -> None:
        harness.sleeps.append(delay)
        if clock is not None:
            clock.now += delay

    if harness.is_async:

        async def record(delay: float) -> None:
            slept(delay)

        client: Any = maaskit.AsyncClient(endpoints=endpoints, sleep=record, **options)
    else:
        client = maaskit.Client(endpoints=endpoints, sleep=slept, **options)
    harness._clients.append(client)
    return client


def chat_route(respx_mock: respx.MockRouter, name: str) -> respx.Route:
    return respx_mock.post(f"{url(name)}/chat/completions")


# -- failover and the attempt budget --------------------------------------------------------------


async def test_a_failing_endpoint_fails_over_to_the_next_at_once(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    down = chat_route(respx_mock, "a").respond(503)
    up = chat_route(respx_mock, "b").respond(200, json=chat_body("from b"))
    client = router(harness, [endpoint("a"), endpoint("b")])

    reply = await harness.call(client.chat, model="m", messages=MESSAGES)

    assert reply.text == "from b"
    assert (down.call_count, up.call_count) == (1, 1)
    assert harness.sleeps == []  # another backend: no backoff before trying it
    usage = {entry.endpoint: entry for entry in client.usage().entries}
    assert usage["a"].failures == {"ServerError": 1}
    assert usage["b"].successes == 1


async def test_one_attempt_budget_covers_the_whole_call_across_endpoints(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    routes = {name: chat_route(respx_mock, name).respond(503) for name in "abc"}
    client = router(
        harness, [endpoint(n) for n in "abc"], max_retries=4, breaker=None, retry_budget=None
    )

    with pytest.raises(maaskit.ServerError) as caught:
        await harness.call(client.chat, model="m", messages=MESSAGES)

    # Five attempts in all (max_retries + 1), never retries x endpoints: a, b, c, then a
    # and b again after the backoff.
    assert [r.call_count for r in routes.values()] == [2, 2, 1]
    assert caught.value.attempts == 5
    assert [(f.attempt, f.endpoint, f.status_code) for f in caught.value.history] == [
        (1, "a", 503),
        (2, "b", 503),
        (3, "c", 503),
        (4, "a", 503),
        (5, "b", 503),
    ]
    assert harness.sleeps == [0.5, 1.0]  # only the returns to a tried endpoint wait
    assert "#5 b: 503" in str(caught.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_client_errors_do_not_fail_over(
    harness: Harness, respx_mock: respx.MockRouter, status: int
) -> None:
    first = chat_route(respx_mock, "a").respond(status, json={"error": {"message": "no"}})
    second = chat_route(respx_mock, "b").respond(200, json=chat_body())
    client = router(harness, [endpoint("a"), endpoint("b")])

    with pytest.raises(maaskit.APIStatusError) as caught:
        await harness.call(client.chat, model="m", messages=MESSAGES)

    assert caught.value.status_code == status
    assert caught.value.endpoint_name == "a"
    assert (first.call_count, second.call_count) == (1, 0)
    # A client error says nothing about the backend's health.
    assert client.router.health()["a"].consecutive_failures == 0


async def test_a_status_listed_for_failover_moves_to_the_next_endpoint(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    chat_route(respx_mock, "a").respond(404, json={"error": {"message": "model not loaded"}})
    chat_route(respx_mock, "b").respond(200, json=chat_body("b has it"))
    client = router(harness, [endpoint("a", failover_statuses=frozenset({404})), endpoint("b")])

    reply = await harness.call(client.chat, model="m", messages=MESSAGES)

    assert reply.text == "b has it"


async def test_a_context_length_error_moves_to_a_larger_context(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    too_long = {"error": {"message": "maximum context length is 4096 tokens", "code": None}}
    small = chat_route(respx_mock, "small").respond(400, json=too_long)
    smaller = chat_route(respx_mock, "smaller").respond(200, json=chat_body("wrong one"))
    large = chat_route(respx_mock, "large").respond(200, json=chat_body("fits"))
    client = router(
        harness,
        [
            endpoint("small", max_context=4096),
            endpoint("smaller", max_context=2048),
            endpoint("large", max_context=128_000),
        ],
    )

    reply = await harness.call(client.chat, model="m", messages=MESSAGES)

    assert reply.text == "fits"
    assert (small.call_count, smaller.call_count, large.call_count) == (1, 0, 1)


async def test_a_long_retry_after_fails_over_instead_of_waiting(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    chat_route(respx_mock, "a").respond(429, headers={"Retry-After": "120"})
    chat_route(respx_mock, "b").respond(200, json=chat_body("b"))
    clock = FakeClock()
    client = router(harness, [endpoint("a"), endpoint("b")], clock)

    reply = await harness.call(client.chat, model="m", messages=MESSAGES)

    assert reply.text == "b"
    assert harness.sleeps == []


# -- capability filters and NoEndpointAvailable --------------------------------------------------


async def test_endpoints_that_cannot_serve_a_call_are_skipped_with_reasons(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = chat_route(respx_mock, "big").respond(200, json=chat_body())
    client = router(
        harness,
        [
            endpoint("embedder", tasks=frozenset({"embed"})),
            endpoint("other-model", models={"small": "s-1"}),
            endpoint("us", tags={"region": "us"}),
            endpoint("tiny", max_context=10),
            endpoint("big", models={"m": "provider-m"}, tags={"region": "eu"}),
        ],
    )

    await harness.call(
        client.chat,
        model="m",
        messages=[{"role": "user", "content": "x" * 100}],
        tags={"region": "eu"},
    )

    sent = json.loads(route.calls[0].request.content)
    assert sent["model"] == "provider-m"  # the public name mapped to the endpoint's
    with pytest.raises(maaskit.NoEndpointAvailable) as caught:
        await harness.call(client.chat, model="m", messages=MESSAGES, tags={"region": "mars"})
    skipped = caught.value.skipped
    assert skipped["embedder"] == "does not serve the 'chat' task"
    assert skipped["other-model"] == "does not serve model 'm'"
    assert skipped["us"] == "tag region='mars' wanted, endpoint has 'us'"
    assert "region" in skipped["big"]
    assert route.call_count == 1


# -- circuit breakers -----------------------------------------------------------------------------


async def test_breaker_opens_skips_the_endpoint_then_a_probe_closes_it(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    flaky = chat_route(respx_mock, "a")
    flaky.respond(503)
    backup = chat_route(respx_mock, "b").respond(200, json=chat_body("b"))
    clock = FakeClock()
    policy = maaskit.BreakerPolicy(failure_threshold=2, cooldown=30.0)
    client = router(harness, [endpoint("a"), endpoint("b")], clock, breaker=policy)

    for _ in range(2):
        await harness.call(client.chat, model="m", messages=MESSAGES)
    health = client.router.health()["a"]
    assert (health.state, health.consecutive_failures) == ("open", 2)
    assert health.retry_at == clock.now + 30.0

    await harness.call(client.chat, model="m", messages=MESSAGES)
    assert flaky.call_count == 2  # skipped while open
    assert backup.call_count == 3

    clock.now += 30.0
    flaky.respond(200, json=chat_body("a is back"))
    reply = await harness.call(client.chat, model="m", messages=MESSAGES)
    assert reply.text == "a is back"  # the half-open probe
    assert client.router.health()["a"].state == "closed"


async def test_breaker_cooldown_honours_retry_after(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    chat_route(respx_mock, "a").respond(503, headers={"Retry-After": "50"})
    chat_route(respx_mock, "b").respond(200, json=chat_body())
    clock = FakeClock()
    policy = maaskit.BreakerPolicy(failure_threshold=1, cooldown=5.0)
    client = router(harness, [endpoint("a"), endpoint("b")], clock, breaker=policy)

    await harness.call(client.chat, model="m", messages=MESSAGES)

    assert client.router.health()["a"].retry_at == clock.now + 50.0


async def test_wait_for_recovery_waits_for_the_earliest_probe(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = chat_route(respx_mock, "a")
    route.respond(503)
    clock = FakeClock()
    policy = maaskit.BreakerPolicy(failure_threshold=1, cooldown=20.0)
    client = router(
        harness, [endpoint("a")], clock, breaker=policy, wait_for_recovery=30.0, max_retries=0
    )
    with pytest.raises(maaskit.ServerError):
        await harness.call(client.chat, model="m", messages=MESSAGES)
    route.respond(200, json=chat_body("recovered"))

    reply = await harness.call(client.chat, model="m", messages=MESSAGES)

    assert reply.text == "recovered"
    assert harness.sleeps == [20.0]


async def test_without_wait_for_recovery_an_open_router_says_why(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    chat_route(respx_mock, "a").respond(503)
    clock = FakeClock()
    policy = maaskit.BreakerPolicy(failure_threshold=1, cooldown=20.0)
    client = router(harness, [endpoint("a")], clock, breaker=policy, max_retries=0)
    with pytest.raises(maaskit.ServerError):
        await harness.call(client.chat, model="m", messages=MESSAGES)

    with pytest.raises(maaskit.NoEndpointAvailable, match=r"a: circuit open .* retry in 20\.00 s"):
        await harness.call(client.chat, model="m", messages=MESSAGES)


# -- the retry budget -----------------------------------------------------------------------------


async def test_the_retry_budget_stops_retries_during_an_outage(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    routes = [chat_route(respx_mock, n).respond(503) for n in "ab"]
    client = router(
        harness,
        [endpoint("a"), endpoint("b")],
        FakeClock(),
        breaker=None,
        retry_budget=maaskit.RetryBudget(ratio=0.0, min_retries=1, window=60.0),
        max_retries=1,
    )

    with pytest.raises(maaskit.ServerError) as first:
        await harness.call(client.chat, model="m", messages=MESSAGES)
    with pytest.raises(maaskit.ServerError) as second:
        await harness.call(client.chat, model="m", messages=MESSAGES)

    assert first.value.attempts == 2  # one retry, the budget's one
    assert not first.value.retry_budget_exhausted
    assert second.value.attempts == 1
    assert second.value.retry_budget_exhausted
    assert sum(r.call_count for r in routes) == 3


# -- the ledger and budgets -----------------------------------------------------------------------


async def test_ledger_counts_tokens_and_cost_with_cached_tokens(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    body = chat_body()
    body["usage"] = {
        "prompt_tokens": 1000,
        "completion_tokens": 200,
        "total_tokens": 1200,
        "prompt_tokens_details": {"cached_tokens": 400},
    }
    chat_route(respx_mock, "a").respond(200, json=body)
    price = maaskit.Price(input=2.0, output=10.0, cached_input=0.5, per_request=0.001)
    client = router(harness, [endpoint("a", price=price)])

    reply = await harness.call(client.chat, model="m", messages=MESSAGES)

    expected = (600 * 2.0 + 400 * 0.5 + 200 * 10.0) / 1e6 + 0.001
    assert reply.usage.cost == pytest.approx(expected)
    report = client.usage()
    (entry,) = report.entries
    assert (entry.endpoint, entry.model, entry.calls, entry.successes) == ("a", "m", 1, 1)
    assert (entry.prompt_tokens, entry.completion_tokens, entry.cached_tokens) == (1000, 200, 400)
    assert entry.cost == pytest.approx(expected)
    assert json.loads(report.model_dump_json())["cost"] == pytest.approx(expected)


async def test_streams_ask_for_usage_count_it_and_hide_the_usage_chunk(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    usage_event = json.dumps(
        {"id": "c", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}
    )
    body = sse(chunk_event("Hel"), chunk_event("lo", "stop"), usage_event, "[DONE]")
    route = chat_route(respx_mock, "a").respond(
        200, content=body, headers={"content-type": "text/event-stream"}
    )
    client = router(harness, [endpoint("a", price=maaskit.Price(input=1.0, output=1.0))])

    stream = await harness.call(client.chat, model="m", messages=MESSAGES, stream=True)
    chunks = await harness.collect(stream)

    assert json.loads(route.calls[0].request.content)["stream_options"] == {"include_usage": True}
    assert [c.text for c in chunks] == ["Hel", "lo"]  # the usage chunk it did not ask for
    assert stream.usage.prompt_tokens == 5
    (entry,) = client.usage().entries
    assert (entry.prompt_tokens, entry.completion_tokens) == (5, 2)
    assert entry.cost == pytest.approx(7 / 1e6)
    assert entry.ttft_p50_ms is not None


async def test_a_budget_refuses_a_call_before_sending_it(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    body = chat_body()
    body["usage"] = {"prompt_tokens": 1_000_000, "completion_tokens": 0, "total_tokens": 0}
    route = chat_route(respx_mock, "a").respond(200, json=body)
    client = router(
        harness,
        [endpoint("a", price=maaskit.Price(input=1.0))],
        FakeClock(),
        budget=maaskit.Budget(max_cost=1.5, period=3600),
    )

    await harness.call(client.chat, model="m", messages=MESSAGES, max_tokens=1)  # costs $1.00
    with pytest.raises(maaskit.BudgetExceededError) as caught:
        await harness.call(
            client.chat, model="m", messages=[{"role": "user", "content": "x" * 4_000_000}]
        )

    assert route.call_count == 1
    assert caught.value.spent == pytest.approx(1.0)


async def test_an_endpoint_over_its_budget_is_skipped(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    body = chat_body()
    body["usage"] = {"prompt_tokens": 1_000_000, "completion_tokens": 0, "total_tokens": 0}
    paid = chat_route(respx_mock, "paid").respond(200, json=body)
    free = chat_route(respx_mock, "free").respond(200, json=chat_body("free"))
    client = router(
        harness,
        [
            endpoint("paid", price=maaskit.Price(input=1.0), budget=maaskit.Budget(max_cost=1.0)),
            endpoint("free"),
        ],
    )

    await harness.call(client.chat, model="m", messages=MESSAGES)
    reply = await harness.call(client.chat, model="m", messages=MESSAGES)

    assert reply.text == "free"
    assert (paid.call_count, free.call_count) == (1, 1)


# -- streams --------------------------------------------------------------------------------------


async def test_a_stream_fails_over_before_its_first_chunk_and_not_after(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    chat_route(respx_mock, "a").respond(503)
    body = TrackingStream([sse(chunk_event("one ")), httpx.ReadError("connection lost")])
    breaking = chat_route(respx_mock, "b").mock(
        return_value=httpx.Response(200, stream=body, headers={"content-type": "text/event-stream"})
    )
    spare = chat_route(respx_mock, "c").respond(200, json=chat_body())
    client = router(harness, [endpoint("a"), endpoint("b"), endpoint("c")])

    stream = await harness.call(client.chat, model="m", messages=MESSAGES, stream=True)
    with pytest.raises(maaskit.APIConnectionError) as caught:
        await harness.call(harness.collect, stream=stream)

    assert caught.value.partial_text == "one "
    assert caught.value.endpoint_name == "b"
    assert (breaking.call_count, spare.call_count) == (1, 0)
    assert client.usage().for_endpoint("b")[0].failures == {"APIConnectionError": 1}


async def test_oauth2_streams_are_not_read_in_full_before_they_are_returned(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post("http://auth.test/token").respond(
        200, json={"access_token": "tok-1", "expires_in": 3600}
    )
    parts = [sse(chunk_event(str(i))) for i in range(10)]
    body = TrackingStream(parts)
    respx_mock.post("http://a.test/v1/chat/completions").mock(
        return_value=httpx.Response(200, stream=body, headers={"content-type": "text/event-stream"})
    )
    auth = maaskit.OAuth2ClientCredentials("http://auth.test/token", "id", "secret-value")
    client = router(harness, [endpoint("a", auth=auth)])

    stream = await harness.call(client.chat, model="m", messages=MESSAGES, stream=True)

    assert body.parts_read == 1  # the first chunk is here before the last one was sent
    assert len(await harness.collect(stream)) == 10


# -- routing on measurements ----------------------------------------------------------------------


async def test_best_value_routes_on_a_loaded_eval_report(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    routes = {n: chat_route(respx_mock, n).respond(200, json=chat_body(n)) for n in "abc"}
    client = router(
        harness,
        [
            endpoint("a", price=maaskit.Price(input=0.1)),
            endpoint("b", price=maaskit.Price(input=1.0)),
            endpoint("c", price=maaskit.Price(input=5.0)),
        ],
        routing="best_value",
        min_quality=0.8,
    )
    report = {
        "task": "chat",
        "model": "m",
        "endpoints": [
            {"name": "a", "quality": 0.6},
            {"name": "b", "quality": 0.85},
            {"name": "c", "quality": 0.95},
        ],
    }

    assert client.router.load_eval(report) == {"a": 0.6, "b": 0.85, "c": 0.95}
    reply = await harness.call(client.chat, model="m", messages=MESSAGES)

    assert reply.text == "b"  # a is cheaper but below the floor; c is better but dearer
    assert routes["a"].call_count == 0


async def test_with_options_shares_the_ledger_and_refuses_endpoint_changes(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    chat_route(respx_mock, "a").respond(200, json=chat_body())
    client = router(harness, [endpoint("a")])
    quick = client.with_options(timeout=3)

    await harness.call(quick.chat, model="m", messages=MESSAGES)

    assert client.usage().calls == 1
    assert quick.options.timeout.read == 3
    with pytest.raises(TypeError, match="cannot change base_url"):
        client.with_options(base_url="http://elsewhere.test/v1")


# -- bad input and secrets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: endpoint("x", provider="grpc"), ValueError, "endpoint 'x': unknown provider"),
        (lambda: endpoint("x", price=maaskit.Price(input=-1.0)), ValueError, "input"),
        (lambda: endpoint("x", models={"a": "m", "b": "m"}), ValueError, "maps both 'a' and 'b'"),
        (lambda: endpoint("x", base_url="ftp://x"), ValueError, "endpoint 'x': base_url"),
        (lambda: endpoint("x", weight=0), ValueError, "endpoint 'x': weight"),
        (lambda: endpoint("x", tasks=frozenset({"dance"})), ValueError, "unknown tasks"),
        (lambda: endpoint("x", api_key="k", auth=maaskit.BearerAuth("k")), ValueError, "either"),
        (lambda: endpoint(""), ValueError, "name"),
        (lambda: maaskit.Client(endpoints=[]), ValueError, "must not be empty"),
        (lambda: maaskit.Client(endpoints=[endpoint("x"), endpoint("x")]), ValueError, "duplicate"),
        (lambda: maaskit.Client(endpoints=[endpoint("x")], routing="fancy"), ValueError, "fancy"),
        (
            lambda: maaskit.Client(endpoints=[endpoint("x")], base_url="http://y.test"),
            TypeError,
            "set base_url on each Endpoint",
        ),
        (lambda: maaskit.Budget(max_cost=-5), ValueError, "max_cost"),
    ],
)
def test_bad_configuration_fails_at_construction(
    build: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        build()


def test_keys_never_show_in_endpoints_or_router_clients() -> None:
    e = endpoint("cloud", api_key=SECRET, base_url="https://cloud.test/v1")
    client = maaskit.Client(endpoints=[e, endpoint("local", base_url="http://127.0.0.1:1/v1")])
    seen = [repr(e), str(vars(e)), repr(client), str(vars(client)), repr(client.router)]
    seen += [repr(h) for h in client.router.health().values()]
    for text in seen:
        assert SECRET not in text
    client.close()


def test_a_key_over_plain_http_to_another_host_warns_or_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exposed = endpoint("far", api_key=SECRET, base_url="http://far.example/v1")
    maaskit.Client(endpoints=[exposed]).close()
    assert "plain http://" in caplog.text
    assert SECRET not in caplog.text
    with pytest.raises(ValueError, match="'far' sends credentials over plain http://"):
        maaskit.Client(endpoints=[exposed], require_tls=True)
    # Loopback is this machine: no warning.
    caplog.clear()
    maaskit.Client(endpoints=[endpoint("near", api_key=SECRET, base_url="http://127.0.0.1:9/v1")])
    assert "plain http://" not in caplog.text


def test_from_config_reads_toml_with_env_secrets(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "maaskit.toml"
    path.write_text(
        """
routing = "cheapest"
max_retries = 1

[[endpoints]]
name = "local"
provider = "openai"
base_url = "http://127.0.0.1:8000/v1"
price = { input = 0.0, output = 0.0 }
tags = { region = "eu" }

[[endpoints]]
name = "cloud"
provider = "openai"
base_url = "https://api.example/v1"
api_key = "${CLOUD_KEY}"
price = { input = 0.15, output = 0.60 }
max_context = 128000
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("CLOUD_KEY", SECRET)

    client = maaskit.Client.from_config(path)

    assert [e.name for e in client.endpoints] == ["local", "cloud"]
    assert client.router.policy.name == "cheapest"
    assert client.options.retry.max_retries == 1
    cloud = client.endpoints[1]
    assert cloud.price == maaskit.Price(input=0.15, output=0.60)
    assert isinstance(cloud.auth, maaskit.BearerAuth)
    assert cloud.auth.current_key() == SECRET
    client.close()
    monkeypatch.delenv("CLOUD_KEY")
    with pytest.raises(ValueError, match=r"endpoint 'cloud'.*CLOUD_KEY is not set"):
        maaskit.load_config(path)
    path.write_text(
        '[[endpoints]]\nname = "x"\nprovider = "openai"\nbase_url = "http://a"\nprise = 1\n'
    )
    with pytest.raises(ValueError, match="unknown keys \\['prise'\\]"):
        maaskit.load_config(path)


async def test_results_carry_their_status_headers_request_id_and_endpoint(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    chat_route(respx_mock, "a").respond(503)
    chat_route(respx_mock, "b").respond(
        200,
        json=chat_body(),
        headers={"x-request-id": "req-42", "x-ratelimit-remaining-requests": "9"},
    )
    client = router(harness, [endpoint("a"), endpoint("b")])

    reply = await harness.call(client.chat, model="m", messages=MESSAGES)

    assert reply.request_id == "req-42"
    assert reply.response is not None
    assert (reply.response.status_code, reply.response.endpoint) == (200, "b")
    assert reply.response.attempts == 2
    assert reply.response.headers["x-ratelimit-remaining-requests"] == "9"
    assert "response" not in reply.model_dump()


async def test_models_read_the_reference_servers_price(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    listing = {"data": [{"id": "m", "owned_by": "maaskit", "price_per_million_tokens": 0.25}]}
    respx_mock.get(f"{url('a')}/models").respond(200, json=listing)
    client = router(harness, [endpoint("a")])

    (card,) = await harness.call(client.models)

    assert card.price_per_million_tokens == 0.25


async def test_per_call_options_are_consumed_and_never_sent_as_body_fields(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = chat_route(respx_mock, "a").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=chat_body())]
    )
    client = router(harness, [endpoint("a")], max_retries=0, retry_budget=None)

    await harness.call(
        client.chat,
        model="m",
        messages=MESSAGES,
        max_tokens=2,
        timeout=5,
        max_retries=1,
        extra_headers={"X-Trace": "t-1"},
        extra_query={"api-version": "2024-10-21"},
        extra_body={"top_k": 3},
        idempotency_key="my-key-1",
    )

    assert route.call_count == 2  # max_retries=1 for this call, over the client's 0
    sent = route.calls[1].request
    assert json.loads(sent.content) == {
        "model": "m",
        "messages": MESSAGES,
        "max_tokens": 2,
        "top_k": 3,
    }
    assert sent.headers["X-Trace"] == "t-1"
    assert sent.headers["Idempotency-Key"] == "my-key-1"
    assert sent.url.params["api-version"] == "2024-10-21"
    assert sent.extensions["timeout"]["read"] == 5
    with pytest.raises(TypeError, match="max_retries must be an int"):
        await harness.call(client.chat, model="m", messages=MESSAGES, max_retries="2")
