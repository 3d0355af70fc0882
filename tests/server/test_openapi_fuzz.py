"""schemathesis over the server's own /openapi.json, in-process on the default models: a few
generated requests per operation (bounded, so CI stays fast), no 5xx, and every response's
status, content type and body conforming to the document.

``positive_data_acceptance`` is left out: the document cannot list which model names exist,
and the request schemas do not yet forbid the extra fields some routes refuse (noted in #14).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import schemathesis
from _support.server import MODELS_DIR
from hypothesis import HealthCheck, Phase, settings
from maaskit_server.app import create_app
from maaskit_server.settings import ServerSettings
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation.case import Case
from starlette.applications import Starlette
from starlette.testclient import TestClient

EXAMPLES_PER_OPERATION = 2


@pytest.fixture(scope="module")
def ready_app() -> Iterator[Starlette]:
    app = create_app(ServerSettings(models_dir=MODELS_DIR, intra_op_threads=1))
    with TestClient(app) as client:
        deadline = time.monotonic() + 120
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, "not ready in 120 s"
            time.sleep(0.05)
        yield app


@pytest.fixture(scope="module")
def api_schema(ready_app: Starlette) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", ready_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    derandomize=True,
    # Generated examples only: no shrinking (a failure prints its reproduction anyway).
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_and_never_answers_5xx(case: Case) -> None:
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
