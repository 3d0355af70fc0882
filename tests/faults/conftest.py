"""Fixtures of the fault and idempotency tests: the in-process toy server (no model needed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from faults._toy import ToyServer, toy_server


@pytest.fixture(scope="session")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToyServer]:
    with toy_server(tmp_path_factory.mktemp("empty-models")) as server:
        yield server


@pytest.fixture
def toy_fresh(toy: ToyServer) -> ToyServer:
    """The toy server with its execution log emptied."""
    toy.executions.clear()
    return toy
