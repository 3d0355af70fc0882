"""Retries through the real transports (respx in place of the network), sync and async."""

from __future__ import annotations

import email.utils
import time

import httpx
import maaskit
import pytest
import respx

from .conftest import BASE_URL, Harness, chat_body

MESSAGES = [{"role": "user", "content": "hi"}]
RETRYABLE = [408, 409, 429, 500, 502, 503, 504, 529]
NOT_RETRYABLE = [400, 401, 403, 404, 422]


@pytest.mark.parametrize("status", RETRYABLE)
async def test_retryable_status_is_tried_exactly_max_retries_plus_one_times(
    harness: Harness, respx_mock: respx.MockRouter, status: int
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(status, json={})
    client = harness.client(max_retries=2)

    with pytest.raises(maaskit.APIStatusError) as caught:
        await harness.call(client.chat, model="m", messages=MESSAGES)

    assert route.call_count == 3
    assert caught.value.status_code == status
    assert caught.value.attempts == 3
    assert len(harness.sleeps) == 2


@pytest.mark.parametrize("status", NOT_RETRYABLE)
async def test_client_errors_are_not_retried(
    harness: Harness, respx_mock: respx.MockRouter, status: int
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(status, json={})
    client = harness.client(max_retries=5)

    with pytest.raises(maaskit.APIStatusError) as caught:
        await harness.call(client.chat, model="m", messages=MESSAGES)

    assert route.call_count == 1
    assert caught.value.attempts == 1
    assert harness.sleeps == []


async def test_success_after_failures_returns_the_result(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(429),
            httpx.Response(200, json=chat_body("finally")),
        ]
    )
    client = harness.client(max_retries=2)

    response = await harness.call(client.chat, model="m", messages=MESSAGES)

    assert response.text == "finally"
    assert route.call_count == 3
    # Full-jitter ceilings with jitter pinned to 1.0: 0.5 s, then 1.0 s.
    assert harness.sleeps == [0.5, 1.0]


async def test_backoff_doubles_up_to_the_cap(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(500)
    client = harness.client(max_retries=6)

    with pytest.raises(maaskit.ServerError):
        await harness.call(client.chat, model="m", messages=MESSAGES)

    assert harness.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


async def test_jitter_scales_the_backoff(harness: Harness, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{BASE_URL}/chat/completions").respond(500)
    client = harness.client(max_retries=2, retry_policy=maaskit.RetryPolicy(jitter=lambda: 0.25))

    with pytest.raises(maaskit.ServerError):
        await harness.call(client.chat, model="m", messages=MESSAGES)

    assert harness.sleeps == [0.125, 0.25]


async def test_max_retries_zero_makes_one_attempt(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(503)
    client = harness.client(max_retries=0)

    with pytest.raises(maaskit.ServerError):
        await harness.call(client.chat, model="m", messages=MESSAGES)

    assert route.call_count == 1


async def test_same_idempotency_key_and_counted_attempts_on_every_try(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(503)
    client = harness.client(max_retries=2)

    with pytest.raises(maaskit.ServerError):
        await harness.call(client.chat, model="m", messages=MESSAGES)

    keys = [call.request.headers.get("Idempotency-Key") for call in route.calls]
    assert len(keys) == 3
    assert keys[0]
    assert keys == [keys[0]] * 3
    assert [call.request.headers["X-MaaSKit-Attempt"] for call in route.calls] == ["1", "2", "3"]


async def test_each_logical_call_gets_its_own_idempotency_key(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, json=chat_body())
    client = harness.client()

    await harness.call(client.chat, model="m", messages=MESSAGES)
    await harness.call(client.chat, model="m", messages=MESSAGES)

    first, second = (call.request.headers["Idempotency-Key"] for call in route.calls)
    assert first != second


async def test_get_requests_carry_no_idempotency_key(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(f"{BASE_URL}/models").mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json={"data": [{"id": "a"}]})]
    )
    client = harness.client()

    models = await harness.call(client.models)

    assert [m.id for m in models] == ["a"]
    assert route.call_count == 2
    assert all("Idempotency-Key" not in call.request.headers for call in route.calls)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "200", "retry-after": "9"}, 0.2),
        ({"retry-after": "soon"}, 0.5),  # unreadable: fall back to the backoff
    ],
)
async def test_retry_after_replaces_the_backoff(
    harness: Harness, respx_mock: respx.MockRouter, headers: dict[str, str], expected: float
) -> None:
    respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        side_effect=[httpx.Response(429, headers=headers), httpx.Response(200, json=chat_body())]
    )
    client = harness.client()

    await harness.call(client.chat, model="m", messages=MESSAGES)

    assert harness.sleeps == [expected]


async def test_retry_after_http_date(harness: Harness, respx_mock: respx.MockRouter) -> None:
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 7, usegmt=True)
    respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": date}),
            httpx.Response(200, json=chat_body()),
        ]
    )
    policy = maaskit.RetryPolicy(jitter=lambda: 1.0, clock=lambda: now)
    client = harness.client(retry_policy=policy)

    await harness.call(client.chat, model="m", messages=MESSAGES)

    assert harness.sleeps == [7.0]


@pytest.mark.parametrize("headers", [{"retry-after": "61"}, {"retry-after-ms": "120000"}])
async def test_retry_after_over_the_cap_is_not_retried(
    harness: Harness, respx_mock: respx.MockRouter, headers: dict[str, str]
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(429, headers=headers)
    client = harness.client()

    with pytest.raises(maaskit.RateLimitError) as caught:
        await harness.call(client.chat, model="m", messages=MESSAGES)

    assert route.call_count == 1
    assert caught.value.attempts == 1
    assert harness.sleeps == []


async def test_x_should_retry_false_stops_a_retryable_status(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(
        503, headers={"x-should-retry": "false"}
    )
    client = harness.client()

    with pytest.raises(maaskit.ServerError):
        await harness.call(client.chat, model="m", messages=MESSAGES)

    assert route.call_count == 1


async def test_x_should_retry_true_retries_a_client_error(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        side_effect=[
            httpx.Response(400, headers={"x-should-retry": "true"}),
            httpx.Response(200, json=chat_body()),
        ]
    )
    client = harness.client()

    assert (await harness.call(client.chat, model="m", messages=MESSAGES)).text == "hello"
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("exc", "error_type"),
    [
        (httpx.ConnectError("refused"), maaskit.APIConnectionError),
        (httpx.RemoteProtocolError("peer closed"), maaskit.APIConnectionError),
        (httpx.ReadTimeout("slow"), maaskit.APITimeoutError),
        (httpx.ConnectTimeout("slow"), maaskit.APITimeoutError),
    ],
)
async def test_network_failures_are_retried_then_typed(
    harness: Harness,
    respx_mock: respx.MockRouter,
    exc: Exception,
    error_type: type[maaskit.APIError],
) -> None:
    route = respx_mock.post(f"{BASE_URL}/embeddings").mock(side_effect=exc)
    client = harness.client(max_retries=1)

    with pytest.raises(error_type) as caught:
        await harness.call(client.embed, model="e", input=["x"])

    assert route.call_count == 2
    assert caught.value.attempts == 2
    assert caught.value.endpoint == f"POST {BASE_URL}/embeddings"


async def test_malformed_body_is_not_retried(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(200, content=b"<html>")
    client = harness.client()

    with pytest.raises(maaskit.ResponseValidationError) as caught:
        await harness.call(client.chat, model="m", messages=MESSAGES)

    assert route.call_count == 1
    assert caught.value.endpoint == f"POST {BASE_URL}/chat/completions"


async def test_attempt_hook_sees_every_attempt(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{BASE_URL}/chat/completions").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(500),
            httpx.Response(200, json=chat_body()),
        ]
    )
    events: list[maaskit.AttemptEvent] = []
    client = harness.client(on_attempt=events.append)

    await harness.call(client.chat, model="m", messages=MESSAGES)

    assert [e.attempt for e in events] == [1, 2, 3]
    assert isinstance(events[0].error, maaskit.APIConnectionError)
    assert events[0].response is None
    assert isinstance(events[1].error, maaskit.ServerError)
    assert events[1].response is not None
    assert events[1].response.status_code == 500
    assert events[2].error is None
    assert events[2].response is not None
    assert events[2].response.status_code == 200
    assert all(e.request.url == f"{BASE_URL}/chat/completions" for e in events)


async def test_total_timeout_stops_retrying_before_an_overlong_sleep(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE_URL}/chat/completions").respond(
        503, headers={"retry-after": "5"}
    )
    client = harness.client(timeout=maaskit.Timeout(total=3.0))

    with pytest.raises(maaskit.ServerError):
        await harness.call(client.chat, model="m", messages=MESSAGES)

    # The 5 s wait would end past the 3 s budget, so the call fails at once.
    assert route.call_count == 1
    assert harness.sleeps == []


def test_default_policy_constants() -> None:
    policy = maaskit.RetryPolicy()
    assert (policy.max_retries, policy.initial_backoff, policy.max_backoff) == (2, 0.5, 8.0)
    assert policy.max_retry_after == 60.0
    assert policy.clock is time.time  # wall clock, because HTTP-dates are absolute
