"""A connection lost before the answer stores nothing (so the retry runs and no 499 is ever
replayed), and the shared store replays across two "workers" on one SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from maaskit_server.idempotency import IdempotencyMiddleware, IdempotencyStore
from maaskit_server.idempotency_shared import SharedIdempotencyStore
from maaskit_server.shared_state import SharedState
from starlette.types import Message, Receive, Scope, Send

BODY = b'{"model": "m", "messages": []}'


def scope() -> Scope:
    headers = [(b"idempotency-key", b"retry-me"), (b"authorization", b"Bearer k")]
    return {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": headers}


class Route:
    """Like the generation routes: the first run sees the client leave and answers 499."""

    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.runs += 1
        assert (await receive())["body"] == BODY
        if self.runs == 1:
            assert (await receive())["type"] == "http.disconnect"
            status, body = 499, b'{"error": {"code": "client_disconnected"}}'
        else:
            status, body = 200, b'{"choices": []}'
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def attempt(app: IdempotencyMiddleware, *, leaves: bool) -> list[Message]:
    messages: list[Message] = [{"type": "http.request", "body": BODY, "more_body": False}]
    if leaves:
        messages.append({"type": "http.disconnect"})
    sent: list[Message] = []

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # a client that stays: no more messages
        raise AssertionError

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope(), receive, send)
    return sent


def stores(tmp_path: Path) -> dict[str, IdempotencyStore]:
    return {
        "memory": IdempotencyStore(),
        "shared": SharedIdempotencyStore(SharedState(tmp_path / "state.sqlite3")),
    }


@pytest.mark.parametrize("kind", ["memory", "shared"])
async def test_a_retry_after_a_lost_connection_runs_and_is_never_a_replayed_499(
    tmp_path: Path, kind: str
) -> None:
    route = Route()
    app = IdempotencyMiddleware(route, store=stores(tmp_path)[kind])
    await attempt(app, leaves=True)
    retry = await attempt(app, leaves=False)
    assert route.runs == 2
    assert retry[0]["status"] == 200
    assert (b"idempotent-replayed", b"true") not in retry[0]["headers"]
    # The retry's answer is the one stored now: a third attempt replays it.
    third = await attempt(app, leaves=False)
    assert route.runs == 2
    assert third[0]["status"] == 200
    assert (b"idempotent-replayed", b"true") in third[0]["headers"]


async def test_two_workers_sharing_the_state_replay_each_others_answers(tmp_path: Path) -> None:
    route = Route()
    route.runs = 1  # answer 200 at once
    path = tmp_path / "state.sqlite3"
    first = IdempotencyMiddleware(route, store=SharedIdempotencyStore(SharedState(path)))
    second = IdempotencyMiddleware(route, store=SharedIdempotencyStore(SharedState(path)))
    answered = await attempt(first, leaves=False)
    replayed = await attempt(second, leaves=False)
    assert route.runs == 2  # ran once (runs started at 1)
    assert replayed[0]["status"] == answered[0]["status"] == 200
    assert replayed[1]["body"] == answered[1]["body"]
    assert (b"idempotent-replayed", b"true") in replayed[0]["headers"]
