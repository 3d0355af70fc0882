"""Fault injection is off unless asked for: the default server ignores fault headers and has no
admin routes; only ``--enable-faults`` turns it on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from _support.server import ServerProcess
from click.testing import CliRunner
from maaskit_server import cli
from maaskit_server.app import create_app
from maaskit_server.faults import FaultMiddleware
from maaskit_server.settings import ServerSettings

EMBEDDING_MODEL = "all-minilm-l6-v2"


@pytest.mark.parametrize(
    "fault", ["status=503", "reset=headers", "truncate=0", "latency_ms=100000", "not a fault"]
)
def test_the_default_server_ignores_fault_headers(
    reference_server: ServerProcess, fault: str
) -> None:
    # reference_server is `python -m maaskit_server` with the default settings.
    response = httpx.post(
        f"{reference_server.v1}/embeddings",
        json={"model": EMBEDDING_MODEL, "input": ["no faults here"]},
        headers={**reference_server.headers, "X-MaaSKit-Fault": fault},
        timeout=30,
    )
    assert response.status_code == 200
    assert len(response.json()["data"][0]["embedding"]) == 384
    assert "x-maaskit-fault-injected" not in response.headers


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_the_default_server_has_no_admin_routes(
    reference_server: ServerProcess, method: str
) -> None:
    response = httpx.request(
        method,
        f"{reference_server.base_url}/_maaskit/faults",
        json={"rules": [{"fault": "status=503"}]},
        headers={**reference_server.headers, "X-MaaSKit-Admin-Key": "anything"},
    )
    assert response.status_code == 404


def test_default_settings_leave_the_fault_middleware_out(tmp_path: Path) -> None:
    assert ServerSettings().faults_enabled is False
    app = create_app(ServerSettings(models_dir=tmp_path))
    assert app.state.faults is None
    classes: list[object] = [middleware.cls for middleware in app.user_middleware]
    assert FaultMiddleware not in classes
    enabled = create_app(ServerSettings(models_dir=tmp_path, faults_enabled=True))
    enabled_classes: list[object] = [middleware.cls for middleware in enabled.user_middleware]
    assert FaultMiddleware in enabled_classes


def _serve_settings(monkeypatch: pytest.MonkeyPatch, *args: str) -> ServerSettings:
    seen: list[ServerSettings] = []

    def fake_create_app(settings: ServerSettings) -> object:
        seen.append(settings)
        return object()

    def fake_run(*run_args: Any, **options: Any) -> None:
        return None

    monkeypatch.setattr("maaskit_server.app.create_app", fake_create_app)
    monkeypatch.setattr("maaskit_server.cli._serve.run_server", fake_run)
    monkeypatch.delenv("MAASKIT_FAULT_ADMIN_KEY", raising=False)
    result = CliRunner().invoke(cli.main, ["serve", *args])
    assert result.exit_code == 0, result.output
    return seen[0]


def test_the_cli_enables_faults_only_with_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    default = _serve_settings(monkeypatch)
    assert default.faults_enabled is False
    assert default.fault_admin_key_sha256 == ""
    secret = "admin-secret-5e1f"
    enabled = _serve_settings(monkeypatch, "--enable-faults", "--fault-admin-key", secret)
    assert enabled.faults_enabled is True
    assert len(bytes.fromhex(enabled.fault_admin_key_sha256)) == 32
    assert secret not in enabled.to_json()  # only its digest travels to workers
