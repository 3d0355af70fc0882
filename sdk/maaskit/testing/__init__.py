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
  ``.embeddings(dim=384)``, ``.rerank()``, ``kserve.infer(outputs=[...])``, streaming,
  ``errors=[503]``…), recording every request. It answers clients on ``httpx`` (through
  respx) and on ``httpx2`` (the official ``openai`` client from v3); clients on other HTTP
  stacks need ``maaskit_server``.

Helpers:

* ``start_server(log_path, models_dir=..., api_key=..., port=..., enable_faults=...)``: what the
  fixture runs, for a test that needs a server of its own (other models or options); returns a
  ``MaaSKitServer`` (``.stop()``). ``free_port()``: a free loopback port.
* ``start_triton(repository, log_path=..., python_env=...)``: a real Triton Inference Server
  (``tritonserver`` from the ``nvidia-pytriton`` wheel) on free loopback ports, e.g. on a
  repository from ``maaskit models export-triton``; ``.client()`` is a ``kserve`` client,
  ``.metrics_text()`` its Prometheus metrics, ``.stop()``. It raises ``TritonUnavailable`` (a
  reason to skip) where Triton cannot run; see ``maaskit.testing._triton`` for a fixture.

Importing this module is cheap and cannot fail for lack of respx or the server: those are
imported when a fixture is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._mock import MaaSKitMock
    from ._server import AnswerScript, FaultScript, MaaSKitServer, free_port, start_server
    from ._triton import TritonServer, TritonStartError, TritonUnavailable, start_triton

__all__ = [
    "PLUGIN_NAME",
    "AnswerScript",
    "FaultScript",
    "MaaSKitMock",
    "MaaSKitServer",
    "TritonServer",
    "TritonStartError",
    "TritonUnavailable",
    "free_port",
    "pytest_addhooks",
    "start_server",
    "start_triton",
]

# The name of the pytest11 entry point, under which the fixtures module is registered.
PLUGIN_NAME = "maaskit"

_LAZY = {
    "MaaSKitMock": "_mock",
    "MaaSKitServer": "_server",
    "FaultScript": "_server",
    "TritonServer": "_triton",
    "TritonStartError": "_triton",
    "TritonUnavailable": "_triton",
    "start_triton": "_triton",
    "AnswerScript": "_server",
    "start_server": "_server",
    "free_port": "_server",
}


def __getattr__(name: str) -> Any:
    # The types for annotations, imported on first use so loading the plugin stays cheap.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    # `-p maaskit.testing` registers this package: register the fixtures module under the entry
    # point's name, so that autoloading the entry point afterwards skips it instead of failing
    # on a module registered twice.
    if pluginmanager.get_plugin(PLUGIN_NAME) is None:
        from . import _plugin

        pluginmanager.register(_plugin, PLUGIN_NAME)
