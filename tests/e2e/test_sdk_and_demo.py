"""The maaskit SDK against the real server, and the ``maaskit demo`` command end to end."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx
import numpy as np
import pytest
from _support.server import ServerProcess

from ._helpers import EMBEDDING_MODEL, SENTIMENT_MODEL, require_model

pytestmark = pytest.mark.e2e


def test_sdk_embeds(reference_server: ServerProcess) -> None:
    from maaskit import Client

    with Client(
        provider="openai", base_url=reference_server.v1, api_key=reference_server.api_key
    ) as client:
        ids = {info.id for info in client.models()}
        assert EMBEDDING_MODEL in ids
        vectors = client.embed(model=EMBEDDING_MODEL, input=["a cat", "a kitten", "a bond yield"])
    cat, kitten, bond = (np.array(v) for v in vectors.vectors)
    assert cat.shape == (384,)
    assert float(cat @ kitten) > float(cat @ bond)


def test_sdk_classifies_with_every_label(reference_server: ServerProcess) -> None:
    require_model(reference_server, SENTIMENT_MODEL)
    from maaskit import Client

    with Client(
        provider="openai", base_url=reference_server.v1, api_key=reference_server.api_key
    ) as client:
        response = client.classify(
            model=SENTIMENT_MODEL, input=["I love it, fantastic!", "Awful. I hate this."]
        )
    assert [result.label for result in response.results] == ["positive", "negative"]
    for result in response.results:
        assert set(result.scores) == {"negative", "neutral", "positive"}
        assert result.score == max(result.scores.values())


def test_maaskit_demo_runs_and_stops_its_server(reference_server: ServerProcess) -> None:
    # Depends on reference_server only so the models are known to load; the demo starts its own.
    command = [sys.executable, "-c", "from maaskit_server.cli import main; main()", "demo"]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert finished.returncode == 0, finished.stderr[-3000:]
    out = finished.stdout
    assert "Ready after" in out
    assert EMBEDDING_MODEL in out
    assert "384 dimensions" in out
    sentiment = out.split("Sentiment (model 'sentiment'):")[1].split("Embeddings")[0]
    assert [line.split()[0] for line in sentiment.strip().splitlines()] == [
        "positive",
        "negative",
        "neutral",
    ]
    reply = out.split("Chat (model 'tiny-shakespeare'), streamed:")[1].split("Server stopped.")[0]
    assert reply.strip()
    assert out.rstrip().endswith("Server stopped.")
    url = re.search(r"http://127\.0\.0\.1:\d+", out)
    assert url is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url.group(0)}/health", timeout=5)


class _StopHere(Exception):
    pass


def test_demo_stops_its_server_when_something_fails(reference_server: ServerProcess) -> None:
    from maaskit_server._demo import run_demo

    seen: list[str] = []

    def echo(line: str) -> None:
        seen.append(line)
        if line.startswith("Models:"):
            raise _StopHere  # fails mid-demo, with the server up and answering

    with pytest.raises(_StopHere):
        run_demo(timeout_s=120, echo=echo)
    url = re.search(r"http://127\.0\.0\.1:\d+", seen[0])
    assert url is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url.group(0)}/health", timeout=5)


def test_demo_stops_its_server_on_ctrl_c(reference_server: ServerProcess) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-c", "from maaskit_server.cli import main; main()", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # A child of a background job may inherit "ignore SIGINT"; a terminal user's would not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert demo.stdout is not None
    first_line = demo.stdout.readline()
    demo.send_signal(signal.SIGINT)
    output, _ = demo.communicate(timeout=60)
    assert demo.returncode != 0
    assert "Aborted" in output
    url = re.search(r"http://127\.0\.0\.1:\d+", first_line)
    assert url is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url.group(0)}/health", timeout=5)
