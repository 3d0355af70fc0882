"""The SDK examples, run as a user runs them: scripts against the real reference server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from _support.server import ServerProcess

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(server: ServerProcess, name: str, *args: str) -> str:
    env = {**os.environ, "MAASKIT_BASE_URL": server.v1, "MAASKIT_API_KEY": server.api_key}
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert server.api_key not in completed.stdout + completed.stderr
    return completed.stdout


def test_sync_chat(reference_server: ServerProcess) -> None:
    out = run_example(reference_server, "sync_chat.py", "ROMEO:", "--max-tokens", "12")
    text, status = out.rsplit("[finish_reason=", 1)
    assert text.strip()
    assert status.startswith("length")  # 12 tokens of Shakespeare never reach EOS this early
    assert re.search(r"completion_tokens=12\b", status)


def test_async_concurrent_embeddings(reference_server: ServerProcess) -> None:
    out = run_example(
        reference_server,
        "async_embeddings.py",
        "a cat sat on the mat",
        "a kitten rested on the rug",
        "stock prices fell sharply",
    )
    assert "3 vectors of 384 dimensions" in out
    similar = cosine_printed(out, "a kitten rested on the rug")
    unrelated = cosine_printed(out, "stock prices fell sharply")
    assert similar > unrelated


def cosine_printed(out: str, sentence: str) -> float:
    found = re.search(rf"'{sentence}'\) = ([-\d.]+)", out)
    assert found is not None, out
    return float(found.group(1))


def test_streaming_chat(reference_server: ServerProcess) -> None:
    out = run_example(reference_server, "streaming_chat.py", "To be, or not to be")
    text, usage = out.rsplit("[usage=", 1)
    assert text.strip()
    assert re.search(r"prompt_tokens=\d+", usage)
    assert re.search(r"completion_tokens=[1-9]\d*", usage)


def test_router_fails_over_and_keeps_a_ledger(reference_server: ServerProcess) -> None:
    out = run_example(reference_server, "router.py", "ROMEO:", "--calls", "3")
    lines = out.splitlines()
    assert len([line for line in lines if "cost=$" in line and not line.startswith("ledger")]) == 3
    assert "health offline: open after 2 failure(s)" in out
    assert "health local: closed after 0 failure(s)" in out
    # Two failed attempts on the offline endpoint, then its breaker kept calls away from it.
    assert "ledger offline: calls=2 successes=0 failures={'APIConnectionError': 2}" in out
    assert re.search(r"ledger local: calls=3 successes=3 failures=\{\} tokens=\d+\+24 ", out)


def test_eval_endpoints_measures_then_routes(reference_server: ServerProcess) -> None:
    out = run_example(
        reference_server, "eval_endpoints.py", "--limit", "24", "--min-quality", "0.3"
    )
    # One model behind two protocols: the same answers, so the same quality…
    qualities = re.findall(r"^  (\S+-route) +quality ([\d.]+)", out, flags=re.MULTILINE)
    assert {name for name, _ in qualities} == {"openai-route", "kserve-route"}
    assert len({quality for _, quality in qualities}) == 1
    assert float(qualities[0][1]) >= 0.3
    # …so best_value takes the cheaper one (a millionth of a dollar per request, against
    # $1 per million tokens, ~10 per call), and the routed call goes there.
    assert "best_value: kserve-route" in out
    assert re.search(r"routed '.+' to kserve-route: (positive|neutral|negative)", out)


def test_rerank_tensors_middleware(reference_server: ServerProcess) -> None:
    out = run_example(
        reference_server,
        "rerank_tensors_middleware.py",
        "a kitten resting on a rug",
        "Stock markets fell sharply today.",
        "The cat sat on the mat.",
    )
    ranked = [line for line in out.splitlines() if "  #" in line]
    assert ranked[0].endswith("#1  The cat sat on the mat.")  # the cat first, for this query
    assert "[rerank attempt 1 on default: 200]" in out
    assert "[similarity attempt 1 on default: 200]" in out
    assert re.search(r"^similarity: [-\d.]+, [-\d.]+$", out, re.MULTILINE)
    assert "infer: embedding FP32 [1, 384]" in out


def test_tools_and_structured(reference_server: ServerProcess) -> None:
    out = run_example(reference_server, "tools_and_structured.py", "Weather in Paris?")
    lines = out.splitlines()
    assert lines[0].startswith("tool call: get_weather({")  # the only tool, and required
    assert lines[1].startswith("answer: ")
    found = re.fullmatch(r"structured: city=(.+) celsius=(-?\d+)", lines[2])
    assert found is not None, out
    assert -60 <= int(found.group(2)) <= 60
