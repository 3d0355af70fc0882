"""Small helpers for the end-to-end tests (metrics parsing, model presence)."""

from __future__ import annotations

import httpx
import pytest
from _support.server import ServerProcess
from prometheus_client.parser import text_string_to_metric_families

EMBEDDING_MODEL = "all-minilm-l6-v2"
SENTIMENT_MODEL = "sentiment"


def metric_samples(server: ServerProcess) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(f"{server.base_url}/metrics", headers=server.headers, timeout=10)
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def metric(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def require_model(server: ServerProcess, name: str) -> None:
    response = httpx.get(f"{server.v1}/models", headers=server.headers, timeout=10)
    if name not in {model["id"] for model in response.json()["data"]}:
        pytest.fail(f"the default model {name!r} is not served")
