"""Chaos: 2,000 SDK calls (classify, embed, streaming chat; half sync on 4 threads, half async
8 at a time) against the real server while 20 % carry a scripted fault.

Every call the retry policy can save must succeed with exactly the answer of a fault-free call
(vectors within 1e-5, the same label, the same greedy text); every other call must raise its
typed error (with the partial text of a broken stream); a stream cut without ``[DONE]`` must
end with a prefix of the text. The server's idempotency counters must show no duplicated
execution of any key. The figures are printed (past pytest's capture) and recorded as
properties. Bounded: one plan of 2,000 calls, every call under a 60 s total timeout.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import maaskit
import pytest
from maaskit.testing import MaaSKitServer

from chaos._plan import PlannedCall, Scenario, plan

TOTAL_CALLS = 2_000
EMBEDDING_MODEL = "all-minilm-l6-v2"
SENTIMENT_MODEL = "sentiment"
LM = "tiny-shakespeare"
TEXTS = [
    "I love this product, it works perfectly.",
    "This is the worst service I have ever used.",
    "The package arrived on Tuesday.",
    "Absolutely fantastic support team!",
    "I am not sure how I feel about it.",
    "Terrible quality, it broke after a day.",
    "The meeting is at three o'clock.",
    "What a wonderful surprise this was.",
    "It is fine, nothing special.",
    "I would never buy this again.",
]
PROMPTS = ["To be, or not", "My lord,", "What light through", "Now is the winter"]
CHAT_PARAMS: dict[str, Any] = {
    "max_tokens": 12,
    "temperature": 0,
    "provider_params": {"ignore_eos": True},
}
FAULT_HEADER = "X-MaaSKit-Fault"
RETRIES = maaskit.RetryPolicy(max_retries=2, initial_backoff=0.02, max_backoff=0.2)
TIMEOUTS = {
    "default": maaskit.Timeout(connect=5, read=30, stream_idle=30, total=60),
    "short_read": maaskit.Timeout(connect=5, read=0.5, stream_idle=30, total=60),
    "short_idle": maaskit.Timeout(connect=5, read=30, stream_idle=1.0, total=60),
}


@dataclass
class Outcome:
    call: PlannedCall
    value: Any = None
    error: maaskit.MaaSError | None = None


class AttemptCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def __call__(self, event: maaskit.AttemptEvent) -> None:
        with self._lock:
            self.count += 1


def messages(call: PlannedCall) -> list[dict[str, str]]:
    return [{"role": "user", "content": PROMPTS[call.input_index % len(PROMPTS)]}]


def options(call: PlannedCall) -> dict[str, Any]:
    scenario = call.scenario
    headers = {FAULT_HEADER: scenario.fault} if scenario.fault else {}
    return {"default_headers": headers, "timeout": TIMEOUTS[scenario.profile]}


def run_sync(client: maaskit.Client, call: PlannedCall) -> Outcome:
    client = client.with_options(**options(call))
    text = TEXTS[call.input_index]
    try:
        if call.task == "embed":
            return Outcome(call, client.embed(model=EMBEDDING_MODEL, input=[text]).vectors[0])
        if call.task == "classify":
            result = client.classify(model=SENTIMENT_MODEL, input=[text]).results[0]
            return Outcome(call, result.label)
        with client.chat(model=LM, messages=messages(call), stream=True, **CHAT_PARAMS) as stream:
            reasons = [chunk.finish_reason for chunk in stream]
            return Outcome(call, (stream.text, reasons))
    except maaskit.MaaSError as error:
        return Outcome(call, error=error)


async def run_async(client: maaskit.AsyncClient, call: PlannedCall) -> Outcome:
    client = client.with_options(**options(call))
    text = TEXTS[call.input_index]
    try:
        if call.task == "embed":
            result = await client.embed(model=EMBEDDING_MODEL, input=[text])
            return Outcome(call, result.vectors[0])
        if call.task == "classify":
            labels = await client.classify(model=SENTIMENT_MODEL, input=[text])
            return Outcome(call, labels.results[0].label)
        stream = await client.chat(model=LM, messages=messages(call), stream=True, **CHAT_PARAMS)
        async with stream:
            reasons = [chunk.finish_reason async for chunk in stream]
            return Outcome(call, (stream.text, reasons))
    except maaskit.MaaSError as error:
        return Outcome(call, error=error)


def references(client: maaskit.Client, tasks: set[str]) -> dict[str, list[Any]]:
    """Fault-free answers, computed first, that every saved call must reproduce."""
    refs: dict[str, list[Any]] = {}
    if "embed" in tasks:
        refs["embed"] = client.embed(model=EMBEDDING_MODEL, input=TEXTS).vectors
    if "classify" in tasks:
        results = client.classify(model=SENTIMENT_MODEL, input=TEXTS).results
        refs["classify"] = [result.label for result in results]
    if "chat" in tasks:
        refs["chat"] = []
        for prompt in PROMPTS:
            chat = [{"role": "user", "content": prompt}]
            refs["chat"].append(client.chat(model=LM, messages=chat, **CHAT_PARAMS).text)
    return refs


def judge(outcome: Outcome, refs: dict[str, list[Any]]) -> tuple[str, str | None]:
    """(category, problem): category is ok, typed_error or truncated; problem is None if the
    outcome is what the scenario requires."""
    call, scenario = outcome.call, outcome.call.scenario
    reference = refs[call.task][call.input_index % len(refs[call.task])]
    where = f"call {call.index} ({call.task}, fault {scenario.fault!r})"
    if scenario.expect is not None:
        return "typed_error", _judge_error(outcome, scenario, reference, where)
    if outcome.error is not None:
        return "ok", f"{where} raised {outcome.error!r}"
    if call.task == "embed":
        close = outcome.value == pytest.approx(reference, abs=1e-5)
        return "ok", None if close else f"{where}: vector differs from the reference"
    if call.task == "classify":
        same = outcome.value == reference
        return "ok", None if same else f"{where}: label {outcome.value} != {reference}"
    text, reasons = outcome.value
    if scenario.truncated:
        cut = reference.startswith(text) and text != reference and not any(reasons)
        return "truncated", None if cut else f"{where}: {text!r} is not a cut of {reference!r}"
    whole = text == reference and reasons[-1] == "length"
    return "ok", None if whole else f"{where}: {text!r} / {reasons[-1]} != {reference!r}"


def _judge_error(outcome: Outcome, scenario: Scenario, reference: Any, where: str) -> str | None:
    expected = scenario.expect
    assert expected is not None  # only error scenarios are judged here
    if type(outcome.error) is not expected:
        return f"{where}: expected {expected.__name__}, got {outcome.error!r}"
    partial = getattr(outcome.error, "partial_text", None)  # a stream error's text so far
    if scenario.partial and not (partial and reference.startswith(partial)):
        return f"{where}: partial text {partial!r} is not a start of {reference!r}"
    return None


def test_two_thousand_calls_under_faults_lose_and_duplicate_nothing(
    maaskit_server: MaaSKitServer, record_property: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    served = set(maaskit_server.models())
    slots = [
        "classify" if SENTIMENT_MODEL in served else "embed",
        "embed",
        "chat" if LM in served else "embed",
    ]
    attempts = AttemptCounter()
    sync_client = maaskit_server.client(retry_policy=RETRIES, on_attempt=attempts)
    refs = references(maaskit_server.client(), set(slots))
    attempts.count = 0
    calls = plan(TOTAL_CALLS, slots)
    sync_calls, async_calls = calls[: TOTAL_CALLS // 2], calls[TOTAL_CALLS // 2 :]
    stats_before = maaskit_server.idempotency_stats()

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda call: run_sync(sync_client, call), sync_calls))

    async def run_async_half() -> list[Outcome]:
        limit = asyncio.Semaphore(8)
        client = maaskit_server.async_client(retry_policy=RETRIES, on_attempt=attempts)

        async def one(call: PlannedCall) -> Outcome:
            async with limit:
                return await run_async(client, call)

        async with client:
            return await asyncio.gather(*(one(call) for call in async_calls))

    outcomes += asyncio.run(run_async_half())
    sync_client.close()
    stats_after = maaskit_server.idempotency_stats()

    judged = [judge(outcome, refs) for outcome in outcomes]
    problems = [problem for _, problem in judged if problem is not None]
    categories = Counter(category for category, _ in judged)
    delta = {name: stats_after[name] - stats_before[name] for name in stats_before}
    min_replays = sum(outcome.call.scenario.min_replays for outcome in outcomes)
    figures: dict[str, Any] = {
        "calls": len(outcomes),
        "sync_calls": len(sync_calls),
        "async_calls": len(async_calls),
        "by_task": dict(Counter(call.task for call in calls)),
        "injected_faults": sum(1 for call in calls if call.scenario.fault),
        "attempts": attempts.count,
        "retries": attempts.count - len(outcomes),
        "successes": categories["ok"],
        "typed_failures": categories["typed_error"],
        "truncated_streams_kept": categories["truncated"],
        "server_executions": delta["executed"],
        "server_replays": delta["replayed"],
        "server_waits": delta["waited"],
        "duplicates": delta["duplicate_execution"],
        "problems": len(problems),
    }
    for name, value in figures.items():
        record_property(name, value)
    with capsys.disabled():
        print("\nchaos figures: " + ", ".join(f"{k}={v}" for k, v in figures.items()))

    assert problems == [], "\n".join(problems[:20])
    assert figures["calls"] == TOTAL_CALLS
    assert figures["injected_faults"] == TOTAL_CALLS // 5
    assert delta["duplicate_execution"] == 0
    assert delta["replayed"] >= min_replays
    assert figures["retries"] > 0
