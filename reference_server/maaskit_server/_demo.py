"""``maaskit demo``: a real server subprocess on a free loopback port, called through the SDK."""

from __future__ import annotations

import math
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from maaskit import Client

Echo = Callable[[str], None]

SENTENCES = [
    "I absolutely love this phone, the battery lasts for days!",
    "This was the worst customer service I have ever had.",
    "The meeting is scheduled for Tuesday at 10am.",
]


class DemoError(Exception):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_demo(*, timeout_s: float = 180.0, echo: Echo = print) -> None:
    key = secrets.token_urlsafe(24)  # passed by environment, so it never shows in `ps`
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        process = _start_server(port, key, log)
        try:
            echo(f"Starting the reference server on {base_url} ...")
            started = time.monotonic()
            _wait_ready(base_url, process, log, timeout_s)
            echo(f"Ready after {time.monotonic() - started:.1f} s.\n")
            _call_through_sdk(f"{base_url}/v1", key, echo)
        finally:
            _stop(process)
    echo("\nServer stopped.")


def _start_server(port: int, key: str, log: IO[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MAASKIT_API_KEYS": key}
    command = [sys.executable, "-m", "maaskit_server", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen([*command, "--no-access-log"], env=env, stdout=log, stderr=log)


def _wait_ready(
    base_url: str, process: subprocess.Popen[bytes], log: IO[str], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DemoError(f"the server exited with code {process.returncode}:\n{_tail(log)}")
            try:
                if http.get(f"{base_url}/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise DemoError(f"the server was not ready after {timeout_s:.0f} s:\n{_tail(log)}")


def _call_through_sdk(base_url: str, key: str, echo: Echo) -> None:
    # The demo is the one place the server package uses the SDK's client, so it imports it here.
    from maaskit import Client

    client = Client(provider="openai", base_url=base_url, api_key=key)
    infos = client.models()
    echo("Models:")
    for info in infos:
        card = info.raw if isinstance(info.raw, dict) else {}
        echo(f"  {info.id:<20} {card.get('task', '')}")
    names = {info.id for info in infos}

    if "sentiment" in names:
        echo("\nSentiment (model 'sentiment'):")
        classified = client.classify(model="sentiment", input=SENTENCES)
        for sentence, result in zip(SENTENCES, classified.results, strict=True):
            echo(f"  {result.label:<9} {result.score:5.2f}  {sentence}")

    if "all-minilm-l6-v2" in names:
        echo("\nEmbeddings (model 'all-minilm-l6-v2'), cosine similarity:")
        vectors = client.embed(model="all-minilm-l6-v2", input=SENTENCES).vectors
        echo(f"  {len(vectors)} vectors of {len(vectors[0])} dimensions")
        for i, row in enumerate(vectors):
            cells = "  ".join(f"{_cosine(row, other):5.2f}" for other in vectors)
            echo(f"  [{i}] {cells}")

    if "tiny-shakespeare" in names:
        echo("\nChat (model 'tiny-shakespeare'), streamed:")
        _stream_chat(client, echo)


def _stream_chat(client: Client, echo: Echo) -> None:
    # Sampled, with a fixed seed: greedy decoding of a model this small repeats itself.
    pending = ""
    with client.chat(
        model="tiny-shakespeare",
        messages=[{"role": "user", "content": "Speak of the king."}],
        max_tokens=60,
        temperature=0.8,
        top_p=0.95,
        seed=7,
        stream=True,
    ) as stream:
        for chunk in stream:
            pending += chunk.text
            # Show each line as soon as it is complete, so the reply visibly streams in.
            while "\n" in pending:
                line, pending = pending.split("\n", 1)
                if line.strip():
                    echo(f"  {line}")
    if pending.strip():
        echo(f"  {pending}")


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _tail(log: IO[str], lines: int = 20) -> str:
    log.flush()
    log.seek(0)
    return "\n".join(log.read().splitlines()[-lines:])
