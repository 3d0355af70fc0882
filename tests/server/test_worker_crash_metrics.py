"""A worker that is killed (SIGKILL: no shutdown code runs) leaves no live gauge behind: once
the supervisor has replaced it, ``/metrics`` no longer counts the request it held, while the
token counters keep the work it completed. Checked by counts and states, never by timing."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from _support.server import (
    MODELS_DIR,
    ServerProcess,
    default_models_present,
    start_server,
    stop_server,
    wait_until_workers_are_ready,
)
from maaskit_server.audit import WORKER_HEADER
from maaskit_server.faults import FAULT_HEADER
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.e2e

GENERATOR = "tiny-shakespeare"
EMBEDDER = "all-minilm-l6-v2"
IN_PROGRESS = "maaskit_requests_in_progress"
MAX_PROBES = 200  # bounds for the polls below: a count, not a duration

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    if not default_models_present(GENERATOR, EMBEDDER):
        pytest.fail("the default models are missing (maaskit models build re-creates them)")
    models = tmp_path / "models"
    models.mkdir()
    for name in (GENERATOR, EMBEDDER):
        (models / name).symlink_to(MODELS_DIR / name, target_is_directory=True)
    arguments = [
        "--models",
        str(models),
        "--workers",
        "2",
        "--state-dir",
        str(tmp_path / "state"),
        "--enable-faults",  # names the answering worker in x-maaskit-worker
        "--intra-op-threads",
        "1",
    ]
    process = start_server(
        tmp_path / "server.log", api_key="maaskit-test-crash", extra_args=arguments
    )
    try:
        wait_until_workers_are_ready(process, 2)
        yield process, tmp_path / "state" / "prometheus"
    finally:
        stop_server(process)


def fresh(server: ServerProcess) -> httpx.Client:
    # No keep-alive: every request opens a new connection, which either worker may accept.
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.Client(
        base_url=server.base_url, headers=server.headers, limits=limits, timeout=120
    )


def scrape(client: httpx.Client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            samples[key] = samples.get(key, 0.0) + sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape_until_in_progress(client: httpx.Client, expected: float) -> Samples:
    """A request's gauge is lowered just after its last byte is sent, so a scrape may still
    see one that has answered: scrape again, a bounded number of times."""
    for _ in range(MAX_PROBES):
        samples = scrape(client)
        if value(samples, IN_PROGRESS) == expected:
            return samples
    raise AssertionError(f"{IN_PROGRESS} never was {expected}: {value(samples, IN_PROGRESS)}")


def complete_on_both_workers(server: ServerProcess) -> tuple[int, int, set[str]]:
    """Completions until each worker has answered one: (prompt, completion) tokens reported."""
    workers: set[str] = set()
    prompt = completion = 0
    body = {"model": GENERATOR, "prompt": "The king", "max_tokens": 5, "seed": 1}

    def one(_: int) -> httpx.Response:
        with fresh(server) as client:
            return client.post("/v1/completions", json=body)

    with ThreadPoolExecutor(4) as pool:
        for _ in range(MAX_PROBES // 4):
            for response in pool.map(one, range(4)):
                assert response.status_code == 200, response.text
                usage = response.json()["usage"]
                prompt += usage["prompt_tokens"]
                completion += usage["completion_tokens"]
                workers.add(response.headers[WORKER_HEADER])
            if len(workers) == 2:
                return prompt, completion, workers
    raise AssertionError(f"only workers {workers} answered")


def test_a_killed_workers_live_gauges_vanish_and_its_counters_stay(
    server: tuple[ServerProcess, Path],
) -> None:
    process, metrics_dir = server
    with fresh(process) as client:
        before = scrape(client)
        prompt, completion, workers = complete_on_both_workers(process)
        # Only the scrape itself runs: every completion has lowered the gauge again.
        scrape_until_in_progress(client, 1)

        # An embeddings request held open on one worker: its answer is computed (its tokens
        # counted), the headers sent, the body stalled.
        stalled = fresh(process)
        stall = {FAULT_HEADER: "stall=0"}
        request = stalled.build_request(
            "POST", "/v1/embeddings", json={"model": EMBEDDER, "input": "x"}, headers=stall
        )
        response = stalled.send(request, stream=True)
        try:
            assert response.status_code == 200
            victim = response.headers[WORKER_HEADER]
            assert victim in workers
            held = scrape_until_in_progress(client, 2)  # the stalled request and the scrape
            assert (metrics_dir / f"gauge_livesum_{victim}.db").is_file()
            os.kill(int(victim), signal.SIGKILL)
        finally:
            response.close()
            stalled.close()

        # The survivor and the victim's replacement both answer /ready: the supervisor has
        # seen the death (and marked it) before it started the replacement.
        wait_until_workers_are_ready(process, 2)
        after = scrape_until_in_progress(client, 1)

    assert not list(metrics_dir.glob(f"gauge_live*_{victim}.db"))
    for gauge in ("vllm:num_requests_running", "vllm:num_requests_waiting"):
        assert value(after, gauge, model_name=GENERATOR) == 0
    # The dead worker's counters still count: nothing it completed is forgotten.
    assert (metrics_dir / f"counter_{victim}.db").is_file()

    def delta(name: str) -> float:
        return value(after, name, model_name=GENERATOR) - value(before, name, model_name=GENERATOR)

    assert delta("vllm:prompt_tokens_total") == prompt
    assert delta("vllm:generation_tokens_total") == completion
    # The stalled request's tokens were counted before its headers were sent.
    embedded = value(after, "vllm:prompt_tokens_total", model_name=EMBEDDER)
    assert embedded == value(held, "vllm:prompt_tokens_total", model_name=EMBEDDER) > 0
