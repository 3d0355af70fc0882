"""Session fixtures shared by every test directory.

``reference_server`` starts ONE real ``python -m maaskit_server`` process for the whole session,
on a free loopback port, serving the committed default models with one API key configured.
Model loading is delayed a little through the test-only ``MAASKIT_TEST_LOAD_DELAY_S`` variable
so the fixture can record that ``/ready`` answered 503 (while ``/health`` answered 200) before
it answered 200. Use it as::

    def test_something(reference_server: ServerProcess) -> None:
        httpx.get(f"{reference_server.base_url}/v1/models", headers=reference_server.headers)
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

# Re-exported: tests written before tests/_support import these from here.
from _support.server import (
    MODELS_DIR,
    READY_TIMEOUT_S,
    ServerProcess,
    default_models_present,
    free_port,
    start_server,
    stop_server,
)

# _support.key_scan fails the run if a key the tests used shows up in a log; pytester runs it
# to prove so (tests/server/test_key_scan.py).
pytest_plugins = ["_support.key_scan", "pytester"]

LOAD_DELAY_S = 2.0
# Folders whose tests start servers of their own, train, build or benchmark: marked ``slow``, so
# that ``pytest -m "not slow"`` is the fast subset (README). A new folder is fast by default.
SLOW_FOLDERS = frozenset(
    {
        "benchmarks",
        "build",
        "chaos",
        "conformance",
        "e2e",
        "generation",
        "plugin",
        "train",
        "tritonserver",
    }
)

__all__ = [
    "LOAD_DELAY_S",
    "MODELS_DIR",
    "READY_TIMEOUT_S",
    "SLOW_FOLDERS",
    "ServerProcess",
    "default_models_present",
    "free_port",
    "reference_server",
    "start_server",
    "stop_server",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    for item in items:
        parts = (
            item.path.relative_to(tests_dir).parts if item.path.is_relative_to(tests_dir) else ()
        )
        if parts and parts[0] in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def reference_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    if not default_models_present("all-minilm-l6-v2"):
        pytest.fail("the default models are missing (maaskit models build re-creates them)")
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    api_key = "maaskit-test-" + secrets.token_hex(12)
    server = start_server(log_path, api_key=api_key, load_delay_s=LOAD_DELAY_S)
    yield server
    stop_server(server)
