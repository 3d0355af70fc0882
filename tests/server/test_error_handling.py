"""The last-resort handler and the error shapes, on an app with no models (no inference here)."""

from __future__ import annotations

import time
from pathlib import Path

from maaskit_server import metrics
from maaskit_server.app import create_app
from maaskit_server.settings import ServerSettings
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient


async def explode(request: Request) -> Response:
    raise RuntimeError("secret internal detail")


def test_unexpected_exception_is_a_generic_500_in_openai_shape(tmp_path: Path) -> None:
    app = create_app(
        ServerSettings(models_dir=tmp_path), extra_routes=[Route("/v1/explode", explode)]
    )
    before = metrics.UNHANDLED_ERRORS._value.get()
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/explode")
        assert client.get("/health").status_code == 200
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "message": "The server hit an internal error.",
            "type": "server_error",
            "param": None,
            "code": "internal_error",
        }
    }
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert metrics.UNHANDLED_ERRORS._value.get() == before + 1


def test_kserve_paths_answer_in_kserve_shape(tmp_path: Path) -> None:
    with TestClient(create_app(ServerSettings(models_dir=tmp_path))) as client:
        response = client.get("/v2/models/nothing/ready-or-not")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


def test_empty_repository_is_live_but_never_ready(tmp_path: Path) -> None:
    with TestClient(create_app(ServerSettings(models_dir=tmp_path))) as client:
        repository = client.app.state.maaskit.repository
        deadline = time.monotonic() + 30
        while not repository.loading_finished.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert repository.loading_finished.is_set()
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["models"] == {}
        assert ready.json()["status"] == "no models"  # not "loading": loading is over
