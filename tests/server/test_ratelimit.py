"""Request rate limits: the token bucket on a fake clock, then the app in-process, then clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from maaskit_server.app import create_app
from maaskit_server.ratelimit import RateLimiter
from maaskit_server.security import hash_key
from maaskit_server.settings import ServerSettings
from starlette.testclient import TestClient


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_bursts_to_the_limit_then_refills_at_its_pace() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock)
    assert [limiter.take("a").remaining for _ in range(3)] == [2, 1, 0]
    refused = limiter.take("a")
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(20.0)  # 3 a minute: one every 20 s
    clock.now += 19.0
    assert not limiter.take("a").allowed
    clock.now += 1.0
    assert limiter.take("a").allowed
    assert not limiter.take("a").allowed


def test_callers_have_their_own_buckets_and_a_rested_one_is_full() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock)
    assert limiter.take("a").allowed
    assert limiter.take("a").allowed
    assert not limiter.take("a").allowed
    assert limiter.take("b").allowed
    clock.now += 3600.0
    rested = limiter.take("a")
    assert rested.allowed
    assert rested.remaining == 1  # capped at the limit, not 120 saved up


def test_the_limit_must_be_positive() -> None:
    # 0 is "no server-wide limit" (keys may still carry their own); a bucket needs 1 or more.
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(0).take("a")
    with pytest.raises(ValueError, match="0 \\(no limit\\) or more"):
        RateLimiter(-1)


KEYS = ("key-one-secret", "key-two-secret")


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServerSettings(
        models_dir=tmp_path,
        api_key_hashes=tuple(hash_key(key) for key in KEYS),
        rate_limit_rpm=2,
        intra_op_threads=1,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_third_request_in_a_minute_is_429_in_openai_shape(limited: TestClient) -> None:
    first = limited.get("/v1/models", headers=auth(KEYS[0]))
    second = limited.get("/v1/models", headers=auth(KEYS[0]))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert [first.headers["x-ratelimit-remaining-requests"],
            second.headers["x-ratelimit-remaining-requests"]] == ["1", "0"]  # fmt: skip
    refused = limited.get("/v1/models", headers=auth(KEYS[0]))
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    assert "2 requests per minute" in error["message"]
    assert KEYS[0] not in refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
    assert 1 <= int(refused.headers["retry-after-ms"]) <= 30_000


def test_each_key_has_its_own_budget_and_probes_are_never_limited(limited: TestClient) -> None:
    for _ in range(3):
        limited.get("/v1/models", headers=auth(KEYS[0]))
    assert limited.get("/v1/models", headers=auth(KEYS[0])).status_code == 429
    assert limited.get("/v1/models", headers=auth(KEYS[1])).status_code == 200
    assert all(limited.get("/health").status_code == 200 for _ in range(5))
    # A wrong key is refused for what it is, and spends nobody's budget.
    assert limited.get("/v1/models", headers=auth("wrong")).status_code == 401
    assert limited.get("/v1/models", headers=auth(KEYS[1])).status_code == 200


def test_a_kserve_route_refuses_in_kserve_shape(limited: TestClient) -> None:
    for _ in range(2):
        limited.get("/v2/models/none", headers=auth(KEYS[0]))
    refused = limited.get("/v2/models/none", headers=auth(KEYS[0]))
    assert refused.status_code == 429
    assert set(refused.json()) == {"error"}
    assert "Retry-After" in refused.headers
