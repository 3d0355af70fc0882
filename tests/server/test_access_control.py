"""The keys file in-process on real models: route scopes, model scopes and per-key request and
token limits on all four protocols, live revocation, gated /metrics and /ready, 415 for non-JSON
bodies, request ids and the JSON access log."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from _support.server import MODELS_DIR
from click.testing import CliRunner
from maaskit_server.app import create_app
from maaskit_server.cli import main
from maaskit_server.keys import KeyRecord, hash_key, write_keys_file
from maaskit_server.runtimes.embeddings import EmbeddingRuntime
from maaskit_server.runtimes.generation import GenerationRuntime
from maaskit_server.settings import ServerSettings
from starlette.testclient import TestClient

SENTIMENT, EMBEDDER, LM = "sentiment", "all-minilm-l6-v2", "tiny-shakespeare"
KEYS = {
    "root": "key-root-0123456789",
    "team": "key-team-0123456789",
    "ops": "key-ops-0123456789",
    "slow": "key-slow-0123456789",
    "thrifty": "key-thrifty-0123456789",
    "gone": "key-gone-0123456789",
}


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name]}"}


def records() -> list[KeyRecord]:
    every = frozenset({"inference", "metrics", "admin"})
    inference = frozenset({"inference"})
    return [
        KeyRecord(hash_key(KEYS["root"]), None, key_id="root", routes=every),
        KeyRecord(hash_key(KEYS["team"]), frozenset({SENTIMENT}), key_id="team", routes=inference),
        KeyRecord(hash_key(KEYS["ops"]), None, key_id="ops", routes=frozenset({"metrics"})),
        KeyRecord(
            hash_key(KEYS["slow"]), None, key_id="slow", routes=inference, requests_per_minute=4
        ),
        KeyRecord(
            hash_key(KEYS["thrifty"]), None, key_id="thrifty", routes=inference, tokens_per_minute=8
        ),
        KeyRecord(hash_key(KEYS["gone"]), None, key_id="gone", routes=inference),
    ]


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.txt"
    write_keys_file(path, records())
    return path


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, keys_file: Path) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("models")
    for name in (SENTIMENT, EMBEDDER, LM):
        (root / name).symlink_to(MODELS_DIR / name, target_is_directory=True)
    # keys_poll_s=0: the file is looked at on every request, so revocation needs no clock.
    settings = ServerSettings(
        models_dir=root,
        keys_file=keys_file,
        keys_poll_s=0.0,
        intra_op_threads=1,
        access_log_json=True,
    )
    with TestClient(create_app(settings)) as test_client:
        deadline = time.monotonic() + 120
        while test_client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, "not ready in 120 s"
            time.sleep(0.05)
        yield test_client


# One cheap request per protocol, each on a model the "team" key may not use.
def protocol_calls(model: str) -> list[tuple[str, dict[str, object]]]:
    tensor = {"name": "text", "shape": [1], "datatype": "BYTES", "data": ["fine"]}
    return [
        ("/v1/embeddings", {"model": model, "input": "fine"}),
        (f"/v2/models/{model}/infer", {"inputs": [tensor]}),
        (f"/models/{model}", {"inputs": "fine"}),
        ("/api/embed", {"model": model, "input": "fine"}),
    ]


def test_route_scopes_gate_metrics_and_inference(client: TestClient) -> None:
    assert client.get("/metrics", headers=bearer("root")).status_code == 200
    assert client.get("/metrics", headers=bearer("ops")).status_code == 200
    refused = client.get("/metrics", headers=bearer("team"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    inference = client.post(
        "/v1/embeddings", headers=bearer("ops"), json={"model": EMBEDDER, "input": "x"}
    )
    assert inference.status_code == 403


def test_a_model_scope_holds_on_all_four_protocols(client: TestClient) -> None:
    for path, body in protocol_calls(EMBEDDER):
        assert client.post(path, headers=bearer("team"), json=body).status_code == 404, path
        assert client.post(path, headers=bearer("root"), json=body).status_code == 200, path
    allowed = client.post(f"/models/{SENTIMENT}", headers=bearer("team"), json={"inputs": "nice"})
    assert allowed.status_code == 200


def test_ready_names_models_only_to_an_authorised_caller(client: TestClient) -> None:
    anonymous = client.get("/ready")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": "ready", "models": {}}
    assert client.get("/ready", headers={"Authorization": "Bearer wrong"}).json()["models"] == {}
    assert sorted(client.get("/ready", headers=bearer("team")).json()["models"]) == [SENTIMENT]
    assert len(client.get("/ready", headers=bearer("root")).json()["models"]) == 3


def test_a_per_key_request_limit_on_all_four_protocols(client: TestClient) -> None:
    # "slow" may make 4 requests a minute: one per protocol passes, the fifth is refused.
    answers = [
        client.post(path, headers=bearer("slow"), json=body)
        for path, body in protocol_calls(EMBEDDER)
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200]
    assert [answer.headers["x-ratelimit-remaining-requests"] for answer in answers] == [
        "3",
        "2",
        "1",
        "0",
    ]
    assert answers[0].headers["x-ratelimit-limit-requests"] == "4"
    for path, body in protocol_calls(EMBEDDER):
        refused = client.post(path, headers=bearer("slow"), json=body)
        assert refused.status_code == 429, path
        assert int(refused.headers["retry-after"]) >= 1
    # Another key's budget is untouched.
    assert (
        client.post(
            "/v1/embeddings", headers=bearer("root"), json=protocol_calls(EMBEDDER)[0][1]
        ).status_code
        == 200
    )


def test_a_per_key_token_limit_charges_what_requests_used(client: TestClient) -> None:
    # "thrifty" has 8 tokens a minute; one chat completion spends more than that.
    chat = {
        "model": LM,
        "messages": [{"role": "user", "content": "Speak, friend"}],
        "max_tokens": 4,
    }
    first = client.post("/v1/chat/completions", headers=bearer("thrifty"), json=chat)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-tokens"] == "8"
    assert first.headers["x-ratelimit-remaining-tokens"] == "8"  # checked before, charged after
    used = first.json()["usage"]["total_tokens"]
    assert used > 8
    for path, body in [
        ("/v1/chat/completions", chat),
        ("/api/chat", {**chat, "stream": False}),
        (f"/models/{LM}", {"inputs": "Speak", "parameters": {"max_new_tokens": 2}}),
        (f"/v2/models/{LM}/generate", {"text_input": "Speak", "parameters": {"max_tokens": 2}}),
    ]:
        refused = client.post(path, headers=bearer("thrifty"), json=body)
        assert refused.status_code == 429, path
        assert refused.headers["x-ratelimit-remaining-tokens"] == "0"
        assert "tokens per minute" in refused.text


def test_a_revoked_key_is_refused_on_the_next_look_at_the_file(
    client: TestClient, keys_file: Path
) -> None:
    body = {"model": EMBEDDER, "input": "x"}
    assert client.post("/v1/embeddings", headers=bearer("gone"), json=body).status_code == 200
    result = CliRunner().invoke(main, ["keys", "revoke", "--keys-file", str(keys_file), "gone"])
    assert result.exit_code == 0, result.output
    refused = client.post("/v1/embeddings", headers=bearer("gone"), json=body)
    assert refused.status_code == 401
    assert client.post("/v1/embeddings", headers=bearer("root"), json=body).status_code == 200


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v1/embeddings", "text/plain"),
        ("/v1/embeddings", "application/x-www-form-urlencoded"),
        ("/v1/embeddings", "multipart/form-data; boundary=x"),
        ("/v1/embeddings", None),
        ("/api/embed", "text/plain;charset=UTF-8"),
        (f"/models/{EMBEDDER}", "text/plain"),
        (f"/v2/models/{EMBEDDER}/infer", "text/plain"),
    ],
)
def test_a_body_that_does_not_say_json_is_415(
    client: TestClient, path: str, content_type: str | None
) -> None:
    body = json.dumps({"model": EMBEDDER, "input": "x", "inputs": "x"}).encode()
    headers = bearer("root")
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = client.post(path, headers=headers, content=body)
    assert response.status_code == 415
    assert "Content-Type" in response.text
    assert "access-control-allow-origin" not in response.headers


def test_kserve_takes_tritonclients_requests_without_a_content_type(client: TestClient) -> None:
    tensor = {"name": "text", "shape": [1], "datatype": "BYTES", "data": ["fine"]}
    body = json.dumps({"inputs": [tensor]}).encode()
    response = client.post(f"/v2/models/{EMBEDDER}/infer", headers=bearer("root"), content=body)
    assert response.status_code == 200


def test_every_response_has_a_request_id_and_a_well_formed_one_is_kept(client: TestClient) -> None:
    generated = client.get("/health")
    assert len(generated.headers["x-request-id"]) == 32
    assert client.get("/health").headers["x-request-id"] != generated.headers["x-request-id"]
    kept = client.get("/v1/models", headers={**bearer("root"), "X-Request-Id": "trace-42:a.b_c"})
    assert kept.headers["x-request-id"] == "trace-42:a.b_c"
    for bad in ("has space", "x" * 129, "line\tbreak"):
        replaced = client.get("/health", headers={"X-Request-Id": bad})
        assert replaced.headers["x-request-id"] != bad
    # Errors from middleware carry one too.
    assert "x-request-id" in client.get("/v1/models").headers  # 401


def test_the_json_access_log_has_ids_tokens_and_no_keys_or_bodies(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret_text = "a very private sentence"
    with caplog.at_level(logging.INFO, logger="maaskit_server.access"):
        answer = client.post(
            "/v1/embeddings",
            headers={**bearer("root"), "X-Request-Id": "audit-1"},
            json={"model": EMBEDDER, "input": secret_text},
        )
        client.get("/v1/models", headers={"Authorization": "Bearer not-a-key-of-ours"})
    assert answer.status_code == 200
    lines = [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "maaskit_server.access"
    ]
    line = next(item for item in lines if item["request_id"] == "audit-1")
    assert line["key_id"] == "root"
    assert line["route"] == "/v1/embeddings"
    assert line["model"] == EMBEDDER
    assert line["status"] == 200
    assert line["latency_ms"] > 0
    assert set(line) == {
        "time",
        "request_id",
        "key_id",
        "method",
        "route",
        "model",
        "status",
        "prompt_tokens",
        "completion_tokens",
        "latency_ms",
    }
    refused = next(item for item in lines if item["status"] == 401)
    assert refused["key_id"] is None
    text = caplog.text
    assert secret_text not in text
    assert "not-a-key-of-ours" not in text
    assert not any(key in text for key in KEYS.values())


def test_generation_tokens_reach_the_access_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    chat = {"model": LM, "messages": [{"role": "user", "content": "Hail"}], "max_tokens": 3}
    with caplog.at_level(logging.INFO, logger="maaskit_server.access"):
        answer = client.post(
            "/v1/chat/completions", headers={**bearer("root"), "X-Request-Id": "gen-1"}, json=chat
        )
    usage = answer.json()["usage"]
    lines = [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "maaskit_server.access"
    ]
    line = next(item for item in lines if item["request_id"] == "gen-1")
    assert (line["prompt_tokens"], line["completion_tokens"]) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )


@pytest.mark.parametrize("messages", [5, True, 1e308, "hi", {"role": "user"}])
def test_ollama_chat_with_messages_not_a_list_is_400(client: TestClient, messages: object) -> None:
    body = {"model": LM, "messages": messages, "stream": False}
    response = client.post("/api/chat", headers=bearer("root"), json=body)
    assert response.status_code == 400
    assert "messages" in response.json()["error"]


def test_an_oversized_prompt_is_refused_before_it_is_tokenized(client: TestClient) -> None:
    state = client.app.state.maaskit  # type: ignore[attr-defined]
    lm = state.repository.runtime(LM, GenerationRuntime)
    embedder = state.repository.runtime(EMBEDDER, EmbeddingRuntime)
    calls: list[int] = []
    originals = (lm.engine.encode, embedder.tokenizer.encode)

    def counted_lm_encode(text: str) -> Any:
        calls.append(len(text))
        return originals[0](text)

    def counted_encode(texts: Sequence[str]) -> Any:
        calls.append(len(texts))
        return originals[1](texts)

    lm.engine.encode = counted_lm_encode
    embedder.tokenizer.encode = counted_encode
    huge = "word " * 400_000  # 2 MB, like the attack run's prompt
    try:
        chat = {"model": LM, "messages": [{"role": "user", "content": huge}]}
        answers = [
            client.post("/v1/chat/completions", headers=bearer("root"), json=chat),
            client.post(
                "/v1/embeddings", headers=bearer("root"), json={"model": EMBEDDER, "input": huge}
            ),
        ]
        cut = client.post(
            "/v1/embeddings",
            headers=bearer("root"),
            json={"model": EMBEDDER, "input": huge, "truncate_prompt_tokens": -1},
        )
    finally:
        lm.engine.encode, embedder.tokenizer.encode = originals
    for answer in answers:
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "context_length_exceeded"
    assert calls == [1]  # only the truncating request reached a tokenizer
    assert cut.status_code == 200
