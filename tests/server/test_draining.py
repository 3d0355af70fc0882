"""DrainMiddleware in-process: what a request still running when the graceful timeout runs out
is sent, in each case (answer not started, SSE, NDJSON, complete), and that only the drain's
own cancellation is turned into an answer. The drain is expired by hand: no clock involved."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from maaskit_server import protocols  # noqa: F401  (registers the protocols' error shapes)
from maaskit_server.draining import Drain, DrainMiddleware
from starlette.types import Message, Receive, Scope, Send


def _held_app(entered: asyncio.Event, content_type: str | None, chunks: int = 1) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if content_type is not None:
            headers = [(b"content-type", content_type.encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            for _ in range(chunks):
                await send({"type": "http.response.body", "body": b"x\n", "more_body": True})
        entered.set()
        await asyncio.Event().wait()  # held open until cancelled

    return app


async def _run(path: str, content_type: str | None, *, expire: bool = True) -> list[Message]:
    drain = Drain()
    entered = asyncio.Event()
    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = DrainMiddleware(_held_app(entered, content_type), drain=drain)
    scope: Scope = {"type": "http", "path": path, "method": "POST", "headers": []}
    task = asyncio.create_task(middleware(scope, receive, send))
    await entered.wait()
    if expire:
        drain.expire()
    else:
        task.cancel()
    await task
    return sent


def _body(sent: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_an_answer_not_started_is_a_503_in_the_path_shape() -> None:
    sent = asyncio.run(_run("/v1/chat/completions", None))
    assert sent[0]["status"] == 503
    assert (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(_body(sent))["error"]["code"] == "shutting_down"
    assert sent[-1].get("more_body", False) is False


def test_an_openai_stream_ends_with_an_error_event_then_done() -> None:
    sent = asyncio.run(_run("/v1/chat/completions", "text/event-stream; charset=utf-8"))
    assert _body(sent).startswith(b"x\n")  # what was sent before stays as it was
    events = sent[-1]["body"].decode().split("\n\n")
    error = json.loads(events[0].removeprefix("data: "))["error"]
    assert error["code"] == "shutting_down"
    assert error["type"] == "server_error"
    assert events[1:] == ["data: [DONE]", ""]
    assert sent[-1]["more_body"] is False


def test_a_kserve_stream_ends_with_its_error_shape_and_no_done() -> None:
    sent = asyncio.run(_run("/v2/models/m/generate_stream", "text/event-stream"))
    final = sent[-1]["body"].decode()
    assert final.startswith("data: ")
    assert final.endswith("\n\n")
    assert "[DONE]" not in final
    assert "shut down" in json.loads(final.removeprefix("data: "))["error"]


def test_an_ollama_stream_ends_with_an_error_line() -> None:
    sent = asyncio.run(_run("/api/chat", "application/x-ndjson"))
    assert sent[-1]["more_body"] is False
    assert "shut down" in json.loads(sent[-1]["body"])["error"]


def test_a_cut_json_body_is_not_pretended_complete() -> None:
    sent = asyncio.run(_run("/v1/embeddings", "application/json"))
    # Nothing honest can follow half a JSON document: the response is left for the server
    # to close, never ended as if complete.
    assert all(m.get("more_body", False) for m in sent if m["type"] == "http.response.body")


def test_any_other_cancellation_goes_on_as_it_came() -> None:
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(_run("/v1/chat/completions", "text/event-stream", expire=False))


def test_a_request_after_expiry_is_answered_503_without_running() -> None:
    async def never(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the app ran after the drain expired")

    async def main() -> list[Message]:
        drain = Drain()
        drain.expire()
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        scope: Scope = {"type": "http", "path": "/api/chat", "method": "POST", "headers": []}
        await DrainMiddleware(never, drain=drain)(scope, receive, send)
        return sent

    sent = asyncio.run(main())
    assert sent[0]["status"] == 503
    assert "shut down" in json.loads(_body(sent))["error"]


def test_begin_expires_once_after_the_grace_period() -> None:
    async def main() -> tuple[bool, bool]:
        drain = Drain()
        loop = asyncio.get_running_loop()
        expired = loop.create_future()
        original = drain.expire

        def expire() -> None:
            original()
            expired.set_result(True)

        drain.expire = expire  # type: ignore[method-assign]
        drain.begin(0)
        drain.begin(0)  # a second SIGTERM does not restart the clock
        before = drain.expired
        await expired
        return before, drain.expired

    assert asyncio.run(main()) == (False, True)
