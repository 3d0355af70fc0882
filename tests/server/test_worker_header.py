"""The worker-id header is a test-server aid: there with fault injection on, absent otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from maaskit_server.app import create_app
from maaskit_server.audit import WORKER_HEADER
from maaskit_server.settings import ServerSettings
from starlette.testclient import TestClient


@pytest.mark.parametrize("faults", [True, False])
def test_the_worker_header_only_on_test_servers(tmp_path: Path, faults: bool) -> None:
    settings = ServerSettings(models_dir=tmp_path, faults_enabled=faults)
    with TestClient(create_app(settings)) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.headers.get(WORKER_HEADER) == (str(os.getpid()) if faults else None)
