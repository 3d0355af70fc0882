"""Generation under load on a real server: batching, early disconnects, 429, bad inputs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from _support.server import ServerProcess
from generation.server import MODEL, NARROW_MODEL, generation_server, lm_folder
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.e2e

PROMPTS = [
    "To be, or not to be",
    "ROMEO:\nBut soft",
    "Now is the winter",
    "KING",
    "What light through yonder window breaks?",
    "O",
    "Friends, Romans, countrymen, lend me your ears",
    "All the world's a stage",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = lm_folder()
    if folder is None:
        pytest.fail("the default model tiny-shakespeare is missing")
    with generation_server(folder, tmp_path_factory.mktemp("generation")) as process:
        yield process


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=60) as client:
        yield client


def metric(http: httpx.Client, name: str, **labels: str) -> float:
    text = http.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def stream_text(http: httpx.Client, prompt: str, max_tokens: int = 24) -> str:
    body = {"model": MODEL, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0}
    text = ""
    with http.stream("POST", "/v1/completions", json={**body, "stream": True}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                text += json.loads(line[len("data: ") :])["choices"][0]["text"]
    return text


def test_eight_concurrent_streams_each_match_their_solo_run(http: httpx.Client) -> None:
    alone = [stream_text(http, prompt) for prompt in PROMPTS]
    bucket = "maaskit_generation_decode_batch_size_bucket"
    single_before = metric(http, bucket, model=MODEL, le="1.0")
    steps_before = metric(http, "maaskit_generation_decode_batch_size_count", model=MODEL)
    with ThreadPoolExecutor(len(PROMPTS)) as pool:
        together = list(pool.map(lambda p: stream_text(http, p), PROMPTS))
    assert together == alone
    single = metric(http, bucket, model=MODEL, le="1.0") - single_before
    steps = metric(http, "maaskit_generation_decode_batch_size_count", model=MODEL) - steps_before
    assert steps - single > 0  # some decode steps carried more than one sequence


def test_closing_a_stream_early_frees_its_slot(http: httpx.Client) -> None:
    # The narrow model pauses 25 ms per step: 200 tokens would take 5 s.
    running = "maaskit_generation_running_sequences"
    generated = "maaskit_generation_generated_tokens_total"
    body = {
        "model": NARROW_MODEL,
        "prompt": "O",
        "max_tokens": 200,
        "temperature": 0,
        "ignore_eos": True,
    }
    generated_before = metric(http, generated, model=NARROW_MODEL)
    with http.stream("POST", "/v1/completions", json={**body, "stream": True}) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
        # The engine sets its gauges after each step, so they can lag the first chunk a little.
        assert wait_for(lambda: metric(http, running, model=NARROW_MODEL) == 1.0, timeout=3.0)
    # Leaving the block closed the connection mid-stream.
    assert wait_for(lambda: metric(http, running, model=NARROW_MODEL) == 0.0, timeout=3.0)
    assert metric(http, generated, model=NARROW_MODEL) - generated_before < 200
    after = http.post("/v1/completions", json={**body, "max_tokens": 3})
    assert after.status_code == 200
    assert after.json()["choices"][0]["finish_reason"] == "length"


def test_a_non_streaming_client_that_gives_up_frees_its_slot(
    http: httpx.Client, server: ServerProcess
) -> None:
    running = "maaskit_generation_running_sequences"
    body = {
        "model": NARROW_MODEL,
        "prompt": "O",
        "max_tokens": 200,
        "temperature": 0,
        "ignore_eos": True,
    }
    impatient = httpx.Client(base_url=server.base_url, headers=server.headers, timeout=0.5)
    with impatient, pytest.raises(httpx.ReadTimeout):
        impatient.post("/v1/completions", json=body)  # ~5 s of work; gives up after 0.5 s
    assert wait_for(lambda: metric(http, running, model=NARROW_MODEL) == 0.0, timeout=3.0)
    after = http.post("/v1/completions", json={**body, "max_tokens": 2})
    assert after.status_code == 200


def test_a_full_waiting_queue_answers_429_with_retry_after(http: httpx.Client) -> None:
    waiting = "maaskit_generation_waiting_sequences"
    long = {
        "model": NARROW_MODEL,
        "prompt": "O",
        "max_tokens": 200,
        "temperature": 0,
        "ignore_eos": True,
    }
    results: list[int] = []
    with http.stream("POST", "/v1/completions", json={**long, "stream": True}) as running:
        assert running.status_code == 200
        # Keep the iterator: dropping it would close the stream and free the slot.
        lines = running.iter_lines()
        assert next(lines).startswith("data: ")  # the only running slot is taken

        def queued() -> None:
            results.append(http.post("/v1/completions", json={**long, "max_tokens": 2}).status_code)

        thread = threading.Thread(target=queued)
        thread.start()
        assert wait_for(lambda: metric(http, waiting, model=NARROW_MODEL) == 1.0)
        refused = http.post("/v1/completions", json=long)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        error = refused.json()["error"]
        assert error["code"] == "queue_full"
        assert set(error) == {"message", "type", "param", "code"}
    thread.join(60)
    assert results == [200]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": -1}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "hi"}], "temperature": 2.5}, "temperature"),
        ({"messages": [{"role": "user", "content": "hi"}], "top_p": 0}, "top_p"),
        ({"messages": [{"role": "user", "content": "hi"}], "n": 0}, "n"),
        ({"messages": [{"role": "user", "content": "hi"}], "stop": 5}, "stop"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": "hi"}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}, "stream"),
    ],
)
def test_bad_chat_requests_get_400_in_openais_shape(
    http: httpx.Client, body: dict[str, object], param: str
) -> None:
    response = http.post("/v1/chat/completions", json={"model": MODEL, **body})
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param
    assert isinstance(error["code"], str)
    assert error["type"] == "invalid_request_error"


def test_more_sequences_than_the_queue_holds_is_a_400_not_a_429(http: httpx.Client) -> None:
    body = {"model": NARROW_MODEL, "prompt": ["KING", "QUEEN"], "max_tokens": 2}
    response = http.post("/v1/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_sequences"


def test_malformed_json_is_a_400(http: httpx.Client) -> None:
    response = http.post(
        "/v1/chat/completions",
        content=b'{"model": "x", "messages": [',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_an_over_long_prompt_states_the_limit_and_the_count(http: httpx.Client) -> None:
    limit = http.post("/tokenize", json={"model": MODEL, "prompt": "x"}).json()["max_model_len"]
    prompt = "to be or not " * limit
    count = http.post("/tokenize", json={"model": MODEL, "prompt": prompt}).json()["count"]
    assert count > limit
    response = http.post("/v1/completions", json={"model": MODEL, "prompt": prompt})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert f"maximum context length is {limit} tokens" in error["message"]
    assert f"{count} tokens" in error["message"]
    fits = http.post("/v1/completions", json={"model": MODEL, "prompt": "KING", "max_tokens": 2})
    assert fits.status_code == 200  # the server keeps serving


def test_max_tokens_beyond_the_window_is_refused(http: httpx.Client) -> None:
    body = {"model": MODEL, "prompt": "KING", "max_tokens": 100_000}
    response = http.post("/v1/completions", json=body)
    assert response.status_code == 400
    assert "100000 in the completion" in response.json()["error"]["message"]


def test_tokenize_and_detokenize_round_trip(http: httpx.Client, server: ServerProcess) -> None:
    from tokenizers import Tokenizer

    folder = lm_folder()
    assert folder is not None
    tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    text = "Now is the winter of our discontent"
    tokens = http.post("/tokenize", json={"model": MODEL, "prompt": text}).json()
    assert tokens["tokens"] == tokenizer.encode(text).ids
    assert tokens["count"] == len(tokens["tokens"])
    back = http.post("/detokenize", json={"model": MODEL, "tokens": tokens["tokens"]}).json()
    assert back == {"prompt": text}
    bad = http.post("/detokenize", json={"model": MODEL, "tokens": [-1]})
    assert bad.status_code == 400
