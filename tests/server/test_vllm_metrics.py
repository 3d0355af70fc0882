"""vLLM's metric names beside maaskit's, checked by counts against what the answers reported:
token counters equal the usage, histogram counts equal the requests (or the token gaps), and
with ``--workers 2`` every scrape shows the sum over both workers. No timing is asserted."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from _support.server import ServerProcess, default_models_present, start_server, stop_server
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.e2e

GENERATOR = "tiny-shakespeare"
EMBEDDER = "all-minilm-l6-v2"
TIMEOUT = 120.0


@dataclass
class Totals:
    """What the answers reported, summed: the metrics must say the same."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0  # engine requests: one per prompt (its n choices share it)
    choices: int = 0

    def add(self, other: Totals) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.requests += other.requests
        self.choices += other.choices


def scrape(server: ServerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{server.base_url}/metrics", headers=server.headers, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            samples[key] = samples.get(key, 0.0) + sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def post(server: ServerProcess, path: str, body: dict[str, object]) -> httpx.Response:
    response = httpx.post(
        f"{server.base_url}{path}", json=body, headers=server.headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response


def completion(server: ServerProcess, seed: int, n: int = 1) -> Totals:
    body = {"model": GENERATOR, "prompt": "The king", "max_tokens": 6, "seed": seed, "n": n}
    usage = post(server, "/v1/completions", body).json()["usage"]
    return Totals(usage["prompt_tokens"], usage["completion_tokens"], 1, n)


def streamed_chat(server: ServerProcess, seed: int) -> Totals:
    body = {
        "model": GENERATOR,
        "messages": [{"role": "user", "content": "Speak."}],
        "max_tokens": 5,
        "seed": seed,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    lines = post(server, "/v1/chat/completions", body).text.splitlines()
    chunks = [json.loads(line[6:]) for line in lines if line.startswith("data: {")]
    usage = chunks[-1]["usage"]
    return Totals(usage["prompt_tokens"], usage["completion_tokens"], 1, 1)


def embedding(server: ServerProcess) -> Totals:
    usage = post(server, "/v1/embeddings", {"model": EMBEDDER, "input": ["a b c", "d"]}).json()
    return Totals(usage["usage"]["prompt_tokens"])


def workload(server: ServerProcess, round_: int) -> Totals:
    totals = Totals()
    for part in (
        completion(server, seed=round_),
        completion(server, seed=round_ + 100, n=2),
        streamed_chat(server, seed=round_),
        embedding(server),
    ):
        totals.add(part)
    return totals


def assert_metrics_match(
    before: dict[tuple[str, tuple[tuple[str, str], ...]], float],
    after: dict[tuple[str, tuple[tuple[str, str], ...]], float],
    totals: Totals,
) -> None:
    def delta(name: str, model: str = GENERATOR) -> float:
        return value(after, name, model_name=model) - value(before, name, model_name=model)

    generated_prompts = totals.prompt_tokens
    prompt = delta("vllm:prompt_tokens_total") + delta("vllm:prompt_tokens_total", EMBEDDER)
    assert prompt == generated_prompts
    assert delta("vllm:generation_tokens_total") == totals.completion_tokens
    assert delta("vllm:e2e_request_latency_seconds_count") == totals.requests
    assert delta("vllm:time_to_first_token_seconds_count") == totals.requests
    # One gap between each two consecutive tokens of a choice.
    gaps = totals.completion_tokens - totals.choices
    assert delta("vllm:inter_token_latency_seconds_count") == gaps
    assert delta("vllm:time_per_output_token_seconds_count") == gaps
    # The maaskit series say the same.
    maaskit = sum(
        value(after, "maaskit_tokens_total", model=m, kind="completion")
        - value(before, "maaskit_tokens_total", model=m, kind="completion")
        for m in (GENERATOR,)
    )
    assert maaskit == totals.completion_tokens
    # All answered: nothing runs, waits or holds cache.
    for gauge in ("vllm:num_requests_running", "vllm:num_requests_waiting"):
        assert value(after, gauge, model_name=GENERATOR) == 0
    assert value(after, "vllm:kv_cache_usage_perc", model_name=GENERATOR) == 0


def test_vllm_metrics_equal_the_reported_usage_with_one_worker(
    reference_server: ServerProcess,
) -> None:
    before = scrape(reference_server)
    totals = Totals()
    for round_ in range(2):
        totals.add(workload(reference_server, round_))
    assert_metrics_match(before, scrape(reference_server), totals)
    families = httpx.get(
        f"{reference_server.base_url}/metrics", headers=reference_server.headers, timeout=TIMEOUT
    ).text
    for name in ("vllm:num_requests_running", "vllm:kv_cache_usage_perc"):
        assert f"# TYPE {name} gauge" in families


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    if not default_models_present(GENERATOR, EMBEDDER):
        pytest.fail("the default models are missing (maaskit models build re-creates them)")
    folder = tmp_path_factory.mktemp("workers")
    arguments = ["--workers", "2", "--state-dir", str(folder / "state")]
    server = start_server(
        folder / "server.log", api_key="maaskit-test-workers", extra_args=arguments
    )
    metrics_dir = folder / "state" / "prometheus"
    try:
        wait_for_both_workers(metrics_dir)
        yield server, metrics_dir
    finally:
        stop_server(server)


def wait_for_both_workers(metrics_dir: Path) -> None:
    """/ready answers from whichever worker takes the connection; each worker's own ready
    gauge (in its metric file) says when both have loaded the models this test uses."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ready = 0
        for path in metrics_dir.glob("gauge_livemin_*.db"):
            values: dict[str, float] = {}
            rows = MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
            for key, value, *_ in rows:
                metric, _, labels, *_ = json.loads(key)
                if metric == "maaskit_model_ready":
                    values[labels.get("model", "")] = value
            if all(values.get(model) == 1 for model in (GENERATOR, EMBEDDER)):
                ready += 1
        if ready == 2:
            return
        time.sleep(0.1)  # polling a condition with a deadline, not waiting for time to pass
    raise AssertionError("the two workers did not both load the models in 180 s")


def test_vllm_metrics_sum_over_two_workers_on_every_scrape(
    two_workers: tuple[ServerProcess, Path],
) -> None:
    server, folder = two_workers
    before = scrape(server)
    totals = Totals()
    # Concurrent connections, so the kernel hands them to both workers.
    with ThreadPoolExecutor(4) as pool:
        for part in pool.map(lambda r: workload(server, r), range(8)):
            totals.add(part)
    # Each scrape reaches either worker; every one must show the whole sum.
    for _ in range(6):
        assert_metrics_match(before, scrape(server), totals)
    # Both workers write their values where /metrics reads them (their ready gauges at least).
    pids = {path.stem.rsplit("_", 1)[1] for path in folder.glob("gauge_livemin_*.db")}
    assert len(pids) == 2
