"""The runner on fake senders and a fake clock: what it counts, skips and measures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from maaskit import APIConnectionError, AuthenticationError, ServerError
from maaskit.eval import CallResult, Dataset, load_dataset, recommend
from maaskit.eval._plan import make_plan
from maaskit.eval._runner import Target, run_async, run_sync


def ticking(step_s: float) -> Callable[[], float]:
    """A clock that moves ``step_s`` forward each time it is read."""
    now = [0.0]

    def clock() -> float:
        now[0] += step_s
        return now[0]

    return clock


@pytest.fixture
def data(tmp_path: Path) -> Dataset:
    rows = ["good,pos", "nice,pos", "bad,neg", "awful,neg", "fine,pos", "meh,neg"]
    path = tmp_path / "d.csv"
    path.write_text("text,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return load_dataset(path, task="classify")


ANSWERS = {"good": "POS", "nice": "POS", "bad": "NEG", "awful": "POS", "fine": "POS", "meh": "NEG"}


def answering(texts: list[str]) -> CallResult:
    if texts == ["fine"]:
        raise ServerError("boom", status_code=503)
    return CallResult([ANSWERS[t] for t in texts], prompt_tokens=2 * len(texts), cost=0.001)


def test_counts_failures_maps_labels_and_measures(data: Dataset) -> None:
    plan = make_plan(
        data, batch_size=1, label_map={"POS": "pos", "NEG": "neg"}, labels=None, scorer=None
    )
    result = run_sync(
        Target("a", "openai", {"input": 1.0}),
        plan,
        answering,
        concurrency=1,
        clock=ticking(0.010),
        progress=None,
        stop_after_failures=3,
    )
    # "fine" failed (503); of the 5 answered, "awful" is wrong: accuracy 4/5.
    assert result.calls == 6
    assert result.answered == 5
    assert result.failures == {"server": 1}
    assert result.error_rate == pytest.approx(1 / 6)
    assert result.metrics["accuracy"] == pytest.approx(4 / 5)
    assert result.metrics["confusion"] == [[2, 1], [0, 2]]  # rows and columns: neg, pos
    assert result.latency_p50_ms == pytest.approx(10.0)
    assert result.prompt_tokens_per_1k == pytest.approx(2000.0)
    assert result.cost_per_1k == pytest.approx(1.0)
    assert result.errors["server"].startswith("ServerError: boom")


def test_an_endpoint_that_fails_every_call_stops_early(data: Dataset) -> None:
    plan = make_plan(data, batch_size=1, label_map={}, labels=None, scorer=None)
    sent: list[list[str]] = []

    def refusing(texts: list[str]) -> CallResult:
        sent.append(texts)
        raise AuthenticationError("invalid API key", status_code=401)

    result = run_sync(
        Target("dead", "openai"),
        plan,
        refusing,
        concurrency=1,
        clock=ticking(0.001),
        progress=None,
        stop_after_failures=2,
    )
    assert len(sent) == 2
    assert (result.calls, result.skipped, result.answered) == (2, 4, 0)
    assert result.quality is None
    assert result.error_rate == 1.0
    assert result.failures == {"auth": 2}
    assert result.cost_per_1k is None
    picks = recommend([result])
    assert all(p.endpoint is None for p in picks)


def test_async_runner_agrees_with_the_sync_one(data: Dataset) -> None:
    plan = make_plan(
        data, batch_size=2, label_map={"POS": "pos", "NEG": "neg"}, labels=None, scorer=None
    )

    async def send(texts: list[str]) -> CallResult:
        await asyncio.sleep(0)
        if "meh" in texts:
            raise APIConnectionError("refused")
        return CallResult([ANSWERS[t] for t in texts])

    class Recorder:
        def __init__(self) -> None:
            self.events: list[tuple[str, str, int]] = []

        def start(self, endpoint: str, total: int) -> None:
            self.events.append(("start", endpoint, total))

        def advance(self, endpoint: str, count: int) -> None:
            self.events.append(("advance", endpoint, count))

        def finish(self, endpoint: str) -> None:
            self.events.append(("finish", endpoint, 0))

    progress = Recorder()
    result = asyncio.run(
        run_async(
            Target("b", "hf"),
            plan,
            send,
            concurrency=2,
            clock=ticking(0.005),
            progress=progress,
            stop_after_failures=None,
        )
    )
    # Three calls of two; the last ("fine", "meh") failed: 4 inputs answered, "awful" wrong.
    assert result.calls == 3
    assert result.failures == {"connection": 1}
    assert result.answered == 4
    assert result.metrics["accuracy"] == pytest.approx(3 / 4)
    assert progress.events[0] == ("start", "b", 3)
    assert progress.events.count(("advance", "b", 1)) == 3
    assert progress.events[-1] == ("finish", "b", 0)


def test_a_wrong_number_of_answers_is_a_bad_response(data: Dataset) -> None:
    plan = make_plan(data, batch_size=3, label_map={}, labels=None, scorer=None)
    result = run_sync(
        Target("short", "openai"),
        plan,
        lambda texts: CallResult(["pos"]),
        concurrency=2,
        clock=ticking(0.001),
        progress=None,
        stop_after_failures=None,
    )
    assert result.failures == {"bad_response": 2}
    assert "3 input(s) sent but 1 answer(s) received" in result.errors["bad_response"]


def test_the_sdk_imports_no_plotting_or_table_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, maaskit, maaskit.eval\n"
        "assert maaskit.evaluate is maaskit.eval.evaluate\n"
        "print(sorted({'matplotlib', 'numpy', 'scipy'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
