"""The router against three real reference-server processes on loopback ports: one made
faulty by fault injection, one stopped mid-test and started again on its port.

The client runs on a fake clock, so breaker cooldowns pass when the test says so, without
sleeping; HTTP itself is real.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import maaskit
import pytest
from _support.server import MODELS_DIR, ServerProcess, start_server, stop_server

pytestmark = pytest.mark.e2e

MODEL = "tiny-shakespeare"
KEY = "router-live-key"
ADMIN = "router-live-admin"
MESSAGES = [{"role": "user", "content": "ROMEO:"}]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Fleet:
    root: Path
    servers: dict[str, ServerProcess]

    def start(self, name: str, port: int | None = None) -> ServerProcess:
        server = start_server(
            self.root / f"{name}.log",
            api_key=KEY,
            port=port,
            extra_args=[
                "--models",
                str(self.root / "models"),
                "--enable-faults",
                "--fault-admin-key",
                ADMIN,
            ],
        )
        self.servers[name] = server
        return server

    def url(self, name: str) -> str:
        return self.servers[name].v1

    def script(self, name: str, rules: list[dict[str, object]]) -> None:
        response = httpx.put(
            f"{self.servers[name].base_url}/_maaskit/faults",
            json={"rules": rules},
            headers={"X-MaaSKit-Admin-Key": ADMIN, "Authorization": f"Bearer {KEY}"},
        )
        assert response.status_code == 200, response.text

    def fired(self, name: str) -> int:
        response = httpx.get(
            f"{self.servers[name].base_url}/_maaskit/faults",
            headers={"X-MaaSKit-Admin-Key": ADMIN, "Authorization": f"Bearer {KEY}"},
        )
        return sum(int(rule["fired"]) for rule in response.json()["rules"])

    def tokens(self, name: str) -> dict[str, float]:
        """The server's own count of the tokens it processed, from its metrics."""
        text = httpx.get(
            f"{self.servers[name].base_url}/metrics", headers={"Authorization": f"Bearer {KEY}"}
        ).text
        found = re.findall(
            r'^maaskit_tokens_total\{kind="(\w+)",model="' + MODEL + r'"\} ([\d.e+]+)$',
            text,
            flags=re.M,
        )
        return {kind: float(value) for kind, value in found}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp("fleet")
    (root / "models").mkdir()
    (root / "models" / MODEL).symlink_to(MODELS_DIR / MODEL, target_is_directory=True)
    fleet = Fleet(root, {})
    try:
        for name in ("faulty", "stopped", "steady"):
            fleet.start(name)
        yield fleet
    finally:
        for server in fleet.servers.values():
            stop_server(server)


def endpoint(fleet: Fleet, name: str) -> maaskit.Endpoint:
    return maaskit.Endpoint(name=name, provider="openai", base_url=fleet.url(name), api_key=KEY)


def test_failover_breakers_recovery_and_the_ledger(fleet: Fleet) -> None:
    clock = FakeClock()
    sleeps: list[float] = []
    fleet.script("faulty", [{"fault": "status=503", "times": 1000, "route": "/v1/*"}])
    client = maaskit.Client(
        endpoints=[endpoint(fleet, n) for n in ("faulty", "stopped", "steady")],
        breaker=maaskit.BreakerPolicy(failure_threshold=2, cooldown=30.0),
        retry_budget=None,
        clock=clock,
        sleep=sleeps.append,
    )
    before = {name: fleet.tokens(name) for name in ("stopped", "steady")}
    served: dict[str, int] = {"prompt": 0, "completion": 0}

    # Calls succeed through failover; the faulty endpoint's breaker opens after two.
    for _ in range(4):
        reply = client.chat(model=MODEL, messages=MESSAGES, max_tokens=4)
        assert reply.usage is not None
        served["prompt"] += reply.usage.prompt_tokens
        served["completion"] += reply.usage.completion_tokens
    assert fleet.fired("faulty") == 2
    assert client.router.health()["faulty"].state == "open"
    assert sleeps == []  # failover to another backend does not wait

    # The ledger's tokens are the server's own numbers.
    (entry,) = client.usage().for_endpoint("stopped")
    after = fleet.tokens("stopped")
    was = before["stopped"]
    assert entry.prompt_tokens == served["prompt"] == after["prompt"] - was.get("prompt", 0)
    assert (
        entry.completion_tokens
        == served["completion"]
        == after["completion"] - was.get("completion", 0)
    )

    # One endpoint stops: calls go on, on the steady one.
    port = int(fleet.servers["stopped"].base_url.rsplit(":", 1)[1])
    stop_server(fleet.servers["stopped"])
    for _ in range(2):
        assert client.chat(model=MODEL, messages=MESSAGES, max_tokens=2).text
    assert client.router.health()["stopped"].state == "open"
    assert client.usage().for_endpoint("stopped")[0].failures == {"APIConnectionError": 2}

    # It comes back; once the cooldown has passed, a half-open probe closes its breaker.
    fleet.start("stopped", port=port)
    clock.now += 30.0
    steady_calls = client.usage().for_endpoint("steady")[0].calls
    client.chat(model=MODEL, messages=MESSAGES, max_tokens=2)
    health = client.router.health()
    assert health["stopped"].state == "closed"
    assert health["faulty"].state == "open"  # its probe came first, failed, and reopened it
    assert client.usage().for_endpoint("steady")[0].calls == steady_calls
    client.close()


def test_the_attempt_budget_is_exact_across_endpoints(fleet: Fleet) -> None:
    for name in ("faulty", "steady"):
        fleet.script(name, [{"fault": "status=503", "times": 1000, "route": "/v1/*"}])
    fleet.script("stopped", [{"fault": "status=502", "times": 1000, "route": "/v1/*"}])
    sleeps: list[float] = []
    client = maaskit.Client(
        endpoints=[endpoint(fleet, n) for n in ("faulty", "stopped", "steady")],
        breaker=None,
        retry_budget=None,
        max_retries=4,
        retry_policy=maaskit.RetryPolicy(jitter=lambda: 0.0),
        sleep=sleeps.append,
    )
    try:
        with pytest.raises(maaskit.ServerError) as caught:
            client.chat(model=MODEL, messages=MESSAGES, max_tokens=2)
        assert [fleet.fired(n) for n in ("faulty", "stopped", "steady")] == [2, 2, 1]
        assert caught.value.attempts == 5
        assert [f.endpoint for f in caught.value.history] == [
            "faulty",
            "stopped",
            "steady",
            "faulty",
            "stopped",
        ]
    finally:
        for name in ("faulty", "stopped", "steady"):
            fleet.script(name, [])
        client.close()


def test_a_stream_fails_over_before_its_first_chunk_and_not_after(fleet: Fleet) -> None:
    fleet.script("faulty", [{"fault": "status=503", "times": 1000, "route": "/v1/*"}])
    fleet.script("stopped", [{"fault": "reset=2", "times": 1000, "route": "/v1/*"}])
    client = maaskit.Client(
        endpoints=[endpoint(fleet, n) for n in ("faulty", "stopped", "steady")],
        breaker=None,
        sleep=lambda _: None,
    )
    steady_before = fleet.tokens("steady").get("completion", 0.0)
    try:
        stream = client.chat(model=MODEL, messages=MESSAGES, max_tokens=16, stream=True)
        with pytest.raises(maaskit.APIConnectionError) as caught, stream:
            for _ in stream:
                pass
        assert caught.value.endpoint_name == "stopped"
        assert fleet.fired("faulty") == 1  # before the first chunk: failed over
        assert fleet.fired("stopped") == 1  # after it: final, nothing else was asked
        assert fleet.tokens("steady").get("completion", 0.0) == steady_before
    finally:
        for name in ("faulty", "stopped"):
            fleet.script(name, [])
        client.close()


def test_wait_for_recovery_waits_and_succeeds(fleet: Fleet) -> None:
    clock = FakeClock()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    fleet.script("steady", [{"fault": "status=503", "times": 1, "route": "/v1/*"}])
    client = maaskit.Client(
        endpoints=[endpoint(fleet, "steady")],
        breaker=maaskit.BreakerPolicy(failure_threshold=1, cooldown=12.0),
        wait_for_recovery=15.0,
        max_retries=0,
        clock=clock,
        sleep=sleep,
    )
    try:
        with pytest.raises(maaskit.ServerError):
            client.chat(model=MODEL, messages=MESSAGES, max_tokens=2)
        assert client.chat(model=MODEL, messages=MESSAGES, max_tokens=2).text
        assert sleeps == [12.0]
    finally:
        fleet.script("steady", [])
        client.close()
