"""The plugin proper: options, fixtures and the fault clean-up (see :mod:`maaskit.testing`).

The ``pytest11`` entry point ``maaskit`` names this module; ``-p maaskit.testing`` registers it
under that same name (see ``maaskit.testing.pytest_addhooks``), so it is never loaded twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._mock import MaaSKitMock
    from ._server import MaaSKitServer

_INI_MODELS = "maaskit_models_dir"
_INI_ARGS = "maaskit_server_args"
_INI_TIMEOUT = "maaskit_server_ready_timeout"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("maaskit", "maaskit test fixtures")
    group.addoption(
        "--maaskit-models",
        dest="maaskit_models",
        default=None,
        help="Models folder for the maaskit_server fixture (default: the bundled models).",
    )
    parser.addini(_INI_MODELS, "Models folder for the maaskit_server fixture.", default="")
    parser.addini(
        _INI_ARGS, "Extra 'maaskit serve' arguments for maaskit_server.", type="args", default=[]
    )
    parser.addini(_INI_TIMEOUT, "Seconds to wait for the server's /ready.", default="180")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "maaskit: the test uses the maaskit_server or maaskit_mock fixture"
    )


@pytest.fixture(scope="session")
def maaskit_server_options(pytestconfig: pytest.Config) -> dict[str, Any]:
    """How ``maaskit_server`` starts: ``models_dir``, ``extra_args``, ``ready_timeout_s``.
    Override this fixture in a ``conftest.py`` to choose per project."""
    models = pytestconfig.getoption("maaskit_models") or pytestconfig.getini(_INI_MODELS)
    models_dir: Path | None = None
    if models:
        models_dir = Path(str(models))
        if not models_dir.is_absolute():
            models_dir = Path(pytestconfig.rootpath) / models_dir
    return {
        "models_dir": models_dir,
        "extra_args": list(pytestconfig.getini(_INI_ARGS)),
        "ready_timeout_s": float(pytestconfig.getini(_INI_TIMEOUT)),
    }


@pytest.fixture(scope="session")
def maaskit_server(
    maaskit_server_options: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MaaSKitServer]:
    """A real reference server for the whole session (see the module docstring)."""
    import importlib.util

    if importlib.util.find_spec("maaskit_server") is None:
        pytest.skip('maaskit_server needs the server: pip install "maaskit[server]"')
    from ._server import start_server

    log_path = tmp_path_factory.mktemp("maaskit_server") / "server.log"
    server = start_server(log_path, **maaskit_server_options)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _maaskit_clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    # Faults and answers scripted by one test must not leak into the next; only tests that
    # asked for the server pay for this (two admin calls after the test).
    yield
    if "maaskit_server" in request.fixturenames:
        server: MaaSKitServer = request.getfixturevalue("maaskit_server")
        if server.process.poll() is None:
            server.faults.clear()
            server.answers.clear()


@pytest.fixture
def maaskit_mock() -> Iterator[MaaSKitMock]:
    """respx mocks of the four protocols on ``http://maaskit.mock`` (see ``_mock``)."""
    import respx

    from ._mock import MOCK_HOST, MaaSKitMock
    from ._mock_httpx2 import intercept_httpx2

    with respx.mock(assert_all_called=False) as router:
        # Only the fake host is mocked: a real server in the same test stays reachable.
        router.route(~respx.patterns.M(host=MOCK_HOST)).pass_through()
        # The official openai client (v3) runs on httpx2, which respx does not patch.
        with intercept_httpx2(router, MOCK_HOST):
            yield MaaSKitMock(router)
