"""Keys scoped to models, in-process on two real models: what a scoped key cannot use, it
cannot see either, on every protocol."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support.server import MODELS_DIR
from maaskit_server.app import create_app
from maaskit_server.security import hash_key
from maaskit_server.settings import ServerSettings
from starlette.testclient import TestClient

TEAM = {"Authorization": "Bearer team-key"}  # may use sentiment only
ADMIN = {"Authorization": "Bearer admin-key"}  # unscoped
HIDDEN, ALLOWED = "all-minilm-l6-v2", "sentiment"


def scoped_settings(root: Path) -> ServerSettings:
    return ServerSettings(
        models_dir=root,
        api_key_hashes=(hash_key("admin-key"),),
        scoped_api_keys=((hash_key("team-key"), (ALLOWED,)),),
        intra_op_threads=1,
    )


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("scoped")
    for name in (HIDDEN, ALLOWED):
        (root / name).symlink_to(MODELS_DIR / name, target_is_directory=True)
    with TestClient(create_app(scoped_settings(root))) as test_client:
        deadline = time.monotonic() + 120
        while test_client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, "not ready in 120 s"
            time.sleep(0.05)
        yield test_client


def test_listings_show_a_scoped_key_its_models_only(client: TestClient) -> None:
    def ids(headers: dict[str, str]) -> list[str]:
        cards = client.get("/v1/models", headers=headers).json()["data"]
        return sorted(card["id"] for card in cards)

    assert ids(TEAM) == [ALLOWED]
    assert ids(ADMIN) == [HIDDEN, ALLOWED]
    index = client.post("/v2/repository/index", headers=TEAM).json()
    assert [entry["name"] for entry in index] == [ALLOWED]
    tags = client.get("/api/tags", headers=TEAM).json()["models"]
    assert [tag["name"] for tag in tags] == [f"{ALLOWED}:latest"]


def test_a_model_outside_the_scope_is_404_as_if_it_did_not_exist(client: TestClient) -> None:
    attempts = [
        client.post("/v1/embeddings", headers=TEAM, json={"model": HIDDEN, "input": "x"}),
        client.get(f"/v1/models/{HIDDEN}", headers=TEAM),
        client.get(f"/v2/models/{HIDDEN}", headers=TEAM),
        client.post(f"/models/{HIDDEN}", headers=TEAM, json={"inputs": "x"}),
        client.post("/api/embed", headers=TEAM, json={"model": HIDDEN, "input": "x"}),
    ]
    assert [response.status_code for response in attempts] == [404] * len(attempts)
    # Word for word what a model that does not exist gets, but for its name.
    missing = client.post("/v1/embeddings", headers=TEAM, json={"model": "nope", "input": "x"})
    expected = missing.json()["error"]
    expected["message"] = expected["message"].replace("'nope'", repr(HIDDEN))
    assert attempts[0].json() == {"error": expected}


def test_the_models_in_scope_and_an_unscoped_key_work(client: TestClient) -> None:
    allowed = client.post("/v1/classify", headers=TEAM, json={"model": ALLOWED, "input": "great"})
    assert allowed.status_code == 200
    assert allowed.json()["data"][0]["label"] in ("negative", "neutral", "positive")
    admin = client.post("/v1/embeddings", headers=ADMIN, json={"model": HIDDEN, "input": "x"})
    assert admin.status_code == 200
    assert client.get("/v1/models", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_scoped_keys_survive_the_trip_to_worker_processes(tmp_path: Path) -> None:
    settings = scoped_settings(tmp_path)
    assert ServerSettings.from_json(settings.to_json()) == settings
