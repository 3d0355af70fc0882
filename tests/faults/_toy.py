"""The real app (``create_app``, faults enabled, every middleware) served by uvicorn on a loopback
port in a thread, with one extra scripted chat route and no model.

It lets the stream faults be tested while no generation model is committed: the route streams
exactly ``PIECES`` in OpenAI's SSE shape, counts its executions, and can be made slow, so the
tests know precisely what a fault cut off. The same faults are also run against the real
tiny-shakespeare model in ``test_stream_faults_real.py`` once that model is present.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from _support.server import free_port
from maaskit_server.app import create_app
from maaskit_server.settings import ServerSettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

PIECES = [f"w{index} " for index in range(8)]
FULL_TEXT = "".join(PIECES)
ADMIN_KEY = "toy-admin-key"
TOY_PREFIX = "/toy/v1"


@dataclass
class ToyServer:
    url: str
    executions: list[str] = field(default_factory=list)

    @property
    def openai_url(self) -> str:
        return self.url + TOY_PREFIX


def _chunk(delta: dict[str, str], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    event = {"id": "chatcmpl-toy", "object": "chat.completion.chunk", "choices": [choice]}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def _routes(server: ToyServer) -> list[Route]:
    async def chat(request: Request) -> Response:
        body = await request.json()
        server.executions.append(request.headers.get("idempotency-key", ""))
        delay = float(body.get("toy_delay_s", 0))
        if delay:
            await asyncio.sleep(delay)
        if not body.get("stream"):
            message = {"role": "assistant", "content": FULL_TEXT}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return JSONResponse({"id": "chatcmpl-toy", "choices": [choice]})

        async def events() -> AsyncIterator[bytes]:
            yield _chunk({"role": "assistant", "content": ""})
            for piece in PIECES:
                yield _chunk({"content": piece})
            yield _chunk({}, "stop")
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return [Route(f"{TOY_PREFIX}/chat/completions", chat, methods=["POST"])]


@contextmanager
def toy_server(empty_models_dir: Path) -> Iterator[ToyServer]:
    port = free_port()
    server = ToyServer(f"http://127.0.0.1:{port}")
    settings = ServerSettings(
        models_dir=empty_models_dir,
        faults_enabled=True,
        fault_admin_key_sha256=hashlib.sha256(ADMIN_KEY.encode()).hexdigest(),
    )
    app = create_app(settings, extra_routes=_routes(server))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, name="toy-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not runner.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the toy server did not start")
        time.sleep(0.02)
    try:
        yield server
    finally:
        runner.should_exit = True
        thread.join(timeout=30)
