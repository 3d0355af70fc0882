"""maaskit's pytest plugin: a real reference server with scripted faults, and protocol mocks.

Installed with ``pip install "maaskit[testing]"`` (the server fixture also needs
``maaskit[server]``); pytest loads it through the ``pytest11`` entry point, or explicitly with
``pytest -p maaskit.testing``.

Fixtures:

* ``maaskit_server`` (session): ``python -m maaskit_server`` on a free loopback port with
  fault injection enabled. ``.url``, ``.openai_url``, ``.kserve_url``, ``.ollama_url``,
  ``.hf_url``; ``.client(provider="openai", **options)`` / ``.async_client(...)`` give ready
  ``maaskit`` clients (API key set); ``.faults.add("status=503; retry_after=0", times=2,
  route="/v1/embeddings")`` scripts faults (cleared after each test that used the fixture);
  ``.idempotency_stats()``. Models: the bundled defaults, or the folder named by the
  ``maaskit_models_dir`` ini option or ``--maaskit-models`` (or override the
  ``maaskit_server_options`` fixture).
* ``maaskit_mock`` (function): respx mocks of ``openai``, ``hf``, ``kserve`` and ``ollama``
  answering protocol-accurate bodies (``maaskit_mock.openai.chat(reply="hi")``,
  ``.embeddings(dim=384)``, streaming, ``errors=[503]``…), recording every request.

Importing this module is cheap and cannot fail for lack of respx or the server: those are
imported when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._mock import MaaSKitMock
    from ._server import FaultScript, MaaSKitServer

__all__ = [
    "FaultScript",
    "MaaSKitMock",
    "MaaSKitServer",
    "maaskit_mock",
    "maaskit_server",
    "maaskit_server_options",
]

_LAZY = {"MaaSKitMock": "_mock", "MaaSKitServer": "_server", "FaultScript": "_server"}


def __getattr__(name: str) -> Any:
    # The types for annotations, imported on first use so loading the plugin stays cheap.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    # Faults scripted by one test must not leak into the next; only tests that asked for
    # the server pay for this (one admin call after the test).
    yield
    if "maaskit_server" in request.fixturenames:
        server: MaaSKitServer = request.getfixturevalue("maaskit_server")
        if server.process.poll() is None:
            server.faults.clear()


@pytest.fixture
def maaskit_mock() -> Iterator[MaaSKitMock]:
    """respx mocks of the four protocols on ``http://maaskit.mock`` (see ``_mock``)."""
    import respx

    from ._mock import MOCK_HOST, MaaSKitMock

    with respx.mock(assert_all_called=False) as router:
        # Only the fake host is mocked: a real server in the same test stays reachable.
        router.route(~respx.patterns.M(host=MOCK_HOST)).pass_through()
        yield MaaSKitMock(router)
