"""The idempotency store's bounds (TTL, entry count, bytes) and its stream policy."""

from __future__ import annotations

import httpx
from maaskit_server.idempotency import IdempotencyStore, StoredResponse

from faults._toy import ADMIN_KEY, ToyServer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stored(store: IdempotencyStore, key: str, body: bytes = b"{}") -> None:
    entry = store.start(key, "fingerprint")
    assert entry is not None
    store.store(key, entry, StoredResponse(200, [], body))
    entry.running = False


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    store = IdempotencyStore(ttl_s=10, clock=clock)
    stored(store, "a")
    clock.now += 9.9
    assert store.get("a") is not None
    clock.now += 0.2
    assert store.get("a") is None
    assert store.stats()["entries"] == 0


def test_the_oldest_entries_go_first_past_max_entries() -> None:
    store = IdempotencyStore(max_entries=3)
    for key in "abcd":
        stored(store, key)
    assert store.get("a") is None
    assert [store.get(key) is not None for key in "bcd"] == [True, True, True]


def test_stored_bytes_are_bounded() -> None:
    store = IdempotencyStore(max_total_bytes=100)
    stored(store, "a", b"x" * 60)
    stored(store, "b", b"y" * 60)
    assert store.get("a") is None
    assert store.stats()["stored_bytes"] == 60
    stored(store, "huge", b"z" * 101)
    huge = store.get("huge")
    assert huge is not None
    assert huge.response is None  # too large to keep: a repeat runs again


def _stats(toy: ToyServer) -> dict[str, int]:
    response = httpx.get(
        f"{toy.url}/_maaskit/idempotency", headers={"X-MaaSKit-Admin-Key": ADMIN_KEY}
    )
    assert response.status_code == 200
    stats: dict[str, int] = response.json()
    return stats


def test_streams_are_not_stored_and_a_repeat_counts_as_a_duplicate(toy_fresh: ToyServer) -> None:
    before = _stats(toy_fresh)
    body = {"model": "toy", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    headers = {"Idempotency-Key": "stream-key-1"}
    url = f"{toy_fresh.openai_url}/chat/completions"
    first = httpx.post(url, json=body, headers=headers)
    second = httpx.post(url, json=body, headers=headers)
    after = _stats(toy_fresh)
    assert first.status_code == second.status_code == 200
    assert "idempotent-replayed" not in second.headers
    assert len(toy_fresh.executions) == 2
    assert after["duplicate_execution"] - before["duplicate_execution"] == 1


def test_a_non_streamed_answer_of_the_toy_is_replayed(toy_fresh: ToyServer) -> None:
    body = {"model": "toy", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"Idempotency-Key": "plain-key-1"}
    url = f"{toy_fresh.openai_url}/chat/completions"
    first = httpx.post(url, json=body, headers=headers)
    second = httpx.post(url, json=body, headers=headers)
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert len(toy_fresh.executions) == 1
