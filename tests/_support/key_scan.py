"""A pytest plugin: the run fails if any API key a test used shows up in what the suite logged.

Keys are collected where tests make them: :func:`register_key` (``_support.server``'s
``start_server`` registers the key it configures and every ``--api-key`` /
``--fault-admin-key`` it passes), the ``api_key`` / ``admin_key`` of every fixture's value
(the plugin's ``maaskit_server`` makes random ones), and the string
constants of collected test modules whose names end in ``KEY``, ``KEYS`` or ``SECRET``
(``LIMITED_KEY = "..."``, ``KEYS = {"root": "..."}``). Keys shorter than
:data:`MIN_KEY_LENGTH` are not scanned for ("k", "wrong": they would match ordinary text).

Scanned:

* as each test phase ends, what pytest captured of it: logs, stdout and stderr (the report
  sections, there for passing tests too), the failure text, and the test id;
* at the end of the session, once every server has stopped and written its last line, every
  server log file: the ones :func:`register_log` names (``start_server``) and every ``*.log``
  under the session's temporary folder.

A leak fails the run (exit status 1) and is reported by the key's length and where it was
found, never by the key itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

MIN_KEY_LENGTH = 8
_CONSTANT_NAME = re.compile(r"(KEY|KEYS|SECRET)$")
# Names of environment variables ("MAASKIT_API_KEY") are not keys.
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass
class _Registry:
    keys: set[str] = field(default_factory=set)
    logs: set[Path] = field(default_factory=set)
    leaks: list[str] = field(default_factory=list)
    basetemp: Path | None = None


_REGISTRY = _Registry()


def register_key(key: str) -> None:
    """Scan the run's logs for ``key`` (call it where a test makes or configures a key)."""
    if len(key) >= MIN_KEY_LENGTH and not _ENV_NAME.match(key):
        _REGISTRY.keys.add(key)


def register_log(path: Path) -> None:
    """Scan the file at ``path`` at the end of the run (a server process's log)."""
    _REGISTRY.logs.add(path)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (tuple, list, frozenset, set)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _module_keys(module: ModuleType) -> Iterator[str]:
    for name, value in vars(module).items():
        if _CONSTANT_NAME.search(name):
            yield from _strings(value)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    modules = {id(item.module): item.module for item in items if isinstance(item, pytest.Function)}
    for module in modules.values():
        for key in _module_keys(module):
            register_key(key)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: Any) -> Iterator[Any]:
    # Every fixture value that carries a key (ServerProcess, the plugin's MaaSKitServer).
    value = yield
    for name in ("api_key", "admin_key"):
        key = getattr(value, name, None)
        if isinstance(key, str):
            register_key(key)
    return value


@pytest.fixture(scope="session", autouse=True)
def _key_scan_basetemp(tmp_path_factory: pytest.TempPathFactory) -> None:
    _REGISTRY.basetemp = tmp_path_factory.getbasetemp()


def _scan(where: str, text: str) -> None:
    for key in sorted(_REGISTRY.keys):
        if key in text:
            _REGISTRY.leaks.append(f"{where}: a key of {len(key)} characters")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    where = f"{report.nodeid} ({report.when})"
    if report.when == "setup":
        _scan(f"{report.nodeid} test id", report.nodeid)
    for title, text in report.sections:
        # A phase's report repeats the sections of the phases before it.
        if title.endswith(f" {report.when}"):
            _scan(f"{report.nodeid} {title}", text)
    if report.failed:
        _scan(f"{where} failure", report.longreprtext)


def _log_files() -> Iterable[Path]:
    found = set(_REGISTRY.logs)
    if _REGISTRY.basetemp is not None and _REGISTRY.basetemp.is_dir():
        found.update(_REGISTRY.basetemp.rglob("*.log"))
    return sorted(path for path in found if path.is_file())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for path in _log_files():
        _scan(str(path), path.read_text(encoding="utf-8", errors="replace"))
    leaks = _REGISTRY.leaks
    if not leaks:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.section("API keys in the suite's logs", sep="=", red=True)
        for leak in leaks:
            reporter.line(leak)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
