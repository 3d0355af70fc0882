"""One write path for streams: a route writes the same bytes whether faults are enabled or not,
and the fault injector counts SSE events / NDJSON lines itself instead of ASGI messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from _support.server import MODELS_DIR
from maaskit_server.app import create_app
from maaskit_server.faults import parse_fault
from maaskit_server.faults._middleware import _Injector, _Stop
from maaskit_server.protocols.openai import chat, completions
from maaskit_server.settings import ServerSettings
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LM = "tiny-shakespeare"
EVENTS = [b'data: {"n":%d}\n\n' % i for i in range(5)]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (MODELS_DIR / LM / "model.onnx").is_file():
        pytest.fail(f"the default model {LM} is missing")
    root = tmp_path_factory.mktemp("models")
    (root / LM).symlink_to(MODELS_DIR / LM, target_is_directory=True)
    return root


@pytest.fixture
def pinned_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each stream's id and timestamp are its own; pinned, two answers can be compared as bytes.
    for module in (chat, completions):
        monkeypatch.setattr(module, "new_id", lambda prefix: f"{prefix}-pinned")
        monkeypatch.setattr(module, "now", lambda: 0)


class Recorder:
    """The outermost ASGI layer: what the client is sent, one entry per body write."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.writes: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def recording(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                self.writes.append(message["body"])
            await send(message)

        await self.app(scope, receive, recording)


def streamed(models_dir: Path, faults: bool, headers: dict[str, str]) -> list[list[bytes]]:
    """The body writes of a streamed chat and completion with three choices each."""
    settings = ServerSettings(models_dir=models_dir, intra_op_threads=1, faults_enabled=faults)
    requests: list[tuple[str, dict[str, Any]]] = [
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Speak."}]}),
        ("/v1/completions", {"prompt": "To be, or not"}),
    ]
    recorder = Recorder(create_app(settings))
    answers = []
    with TestClient(recorder) as client:
        deadline = time.monotonic() + 120
        while client.get("/ready").status_code != 200:  # the model loads in the background
            assert time.monotonic() < deadline, "not ready in 120 s"
            time.sleep(0.05)
        for path, prompt in requests:
            body = {"model": LM, "max_tokens": 12, "temperature": 0, "n": 3, "stream": True}
            body.update(prompt, stream_options={"include_usage": True})
            recorder.writes = []
            response = client.post(path, json=body, headers=headers)
            assert response.status_code == 200, response.text
            assert b"".join(recorder.writes) == response.content
            answers.append(recorder.writes)
    return answers


@pytest.mark.usefixtures("pinned_ids")
def test_faults_on_and_off_write_identical_bytes_for_the_same_streamed_answer(
    models_dir: Path,
) -> None:
    off = streamed(models_dir, faults=False, headers={})
    on = streamed(models_dir, faults=True, headers={})
    # A fault that acts before the body only: the body goes through the injector untouched.
    delayed = streamed(models_dir, faults=True, headers={"X-MaaSKit-Fault": "latency_ms=1"})
    joined = [[b"".join(writes) for writes in answers] for answers in (off, on, delayed)]
    assert joined[0] == joined[1] == joined[2]
    for answers in (off, on, delayed):
        for writes in answers:
            events = b"".join(writes).count(b"\n\n")
            assert events > 12
            # The same write path: a step's three events go out in one write, faults or not
            # (before, a server with faults enabled wrote every event on its own).
            assert len(writes) <= events / 2


def inject(fault: str, writes: list[bytes], content_type: bytes) -> list[Message]:
    """What the client is sent when the app writes ``writes`` under ``fault``."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> None:
        injector = _Injector(parse_fault(fault), "/v1/chat/completions", send)
        start = {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", content_type)],
        }
        await injector.send(start)
        for index, data in enumerate(writes):
            more = index < len(writes) - 1
            await injector.send({"type": "http.response.body", "body": data, "more_body": more})

    with contextlib.suppress(_Stop):  # how the injector ends the app's run after a fault
        asyncio.run(run())
    return sent


def bodies(sent: list[Message]) -> list[bytes]:
    return [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]


def test_a_fault_acting_before_the_body_leaves_every_write_as_it_was() -> None:
    writes = [b"".join(EVENTS[:3]), b"".join(EVENTS[3:])]
    assert bodies(inject("latency_ms=0", writes, b"text/event-stream")) == writes


@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_truncate_counts_sse_events_even_when_they_were_written_together(n: int) -> None:
    writes = [b"".join(EVENTS[:3]), b"".join(EVENTS[3:])]
    sent = inject(f"truncate={n}", writes, b"text/event-stream")
    assert b"".join(bodies(sent)) == b"".join(EVENTS[:n])
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_error_event_and_ndjson_lines_are_counted_as_units() -> None:
    lines = [json.dumps({"n": i}).encode() + b"\n" for i in range(4)]
    sent = inject("error_event=3", [b"".join(lines)], b"application/x-ndjson")
    written = b"".join(bodies(sent)).split(b"\n")
    assert [json.loads(line)["n"] for line in written[:3]] == [0, 1, 2]
    assert b"error" in written[3]


def test_drip_delays_between_units_within_one_write() -> None:
    # drip_ms writes each unit on its own, so a client sees events arrive one by one.
    sent = inject("drip_ms=1", [b"".join(EVENTS)], b"text/event-stream")
    assert bodies(sent) == EVENTS
