"""The chaos plan: which call gets which fault, and what the SDK must do about it.

Deterministic: call ``i`` runs task ``TASKS[i % 3]`` and every fifth call (20 %) carries a
fault header, cycling through the task's catalogue. Each scenario says what a correct SDK
must end with: success (the retry policy saves it), a given typed error, or — for a stream cut
without ``[DONE]`` — the text so far with no finish reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import maaskit


@dataclass(frozen=True)
class Scenario:
    fault: str
    expect: type[maaskit.MaaSError] | None = None  # None: the call must succeed
    profile: str = "default"  # which client: default, short_read, short_idle
    partial: bool = False  # a stream error must carry the text received so far
    truncated: bool = False  # a stream that ends early without an error
    min_replays: int = 0  # replays the server must have made for this call


NO_FAULT = Scenario("")

UNARY = [
    Scenario("status=503; times=2; retry_after=0"),
    Scenario("status=429; times=1; retry_after_ms=0"),
    Scenario("status=502; times=1; retry_after=0"),
    Scenario("status=529; times=2; retry_after=0"),
    Scenario("status=500; times=1; retry_after=0"),
    Scenario("reset=headers; times=1", min_replays=1),
    Scenario("reset=headers; times=2", min_replays=2),
    # No replay required: the client gives up at 0.5 s and the answer comes at 0.6 s, but a
    # client starved of CPU on a loaded machine can find the answer already there when its
    # timer runs, and succeed at once without a retry (106 replays of 108 in one CI run).
    # Either way the answer is right and nothing runs twice after a stored success.
    Scenario("latency_ms=600; times=1", profile="short_read"),
    Scenario("status=503; retry_after=0", maaskit.ServerError),
    Scenario("status=429; retry_after=0", maaskit.RateLimitError),
    Scenario("status=400", maaskit.BadRequestError),
    Scenario("status=401", maaskit.AuthenticationError),
    Scenario("reset=headers", maaskit.APIConnectionError, min_replays=2),
    Scenario("malformed=0", maaskit.ResponseValidationError),
    Scenario("truncate=0", maaskit.ResponseValidationError),
]

STREAM = [
    Scenario("status=503; times=2; retry_after=0"),
    Scenario("status=429; times=1; retry_after_ms=0"),
    Scenario("reset=headers; times=1"),
    Scenario("error_event=0; times=1"),
    Scenario("drip_ms=5"),
    Scenario("status=503; retry_after=0", maaskit.ServerError),
    Scenario("reset=3", maaskit.APIConnectionError, partial=True),
    Scenario("malformed=3", maaskit.ResponseValidationError, partial=True),
    Scenario("error_event=3", maaskit.ServerError, partial=True),
    Scenario("stall=3", maaskit.APITimeoutError, profile="short_idle", partial=True),
    Scenario("truncate=3", truncated=True),
]


@dataclass(frozen=True)
class PlannedCall:
    index: int
    task: str  # classify, embed or chat
    input_index: int
    scenario: Scenario


def plan(total: int, tasks: list[str]) -> list[PlannedCall]:
    """``tasks`` are the three task slots (a missing model's slot is given to another task)."""
    calls: list[PlannedCall] = []
    faulted_per_task: dict[str, int] = {}
    for index in range(total):
        task = tasks[index % len(tasks)]
        scenario = NO_FAULT
        if index % 5 == 4:
            catalogue = STREAM if task == "chat" else UNARY
            count = faulted_per_task.get(task, 0)
            faulted_per_task[task] = count + 1
            scenario = catalogue[count % len(catalogue)]
        calls.append(PlannedCall(index, task, (index // 7) % 10, scenario))
    return calls
