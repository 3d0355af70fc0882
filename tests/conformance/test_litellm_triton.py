"""LiteLLM's ``triton/`` provider (the real litellm client) against the KServe v2 routes.

What it sends (litellm/llms/triton/embedding/transformation.py and
completion/transformation.py): embeddings as one BYTES input named ``input_text`` of shape
``[n]``; ``/infer`` generation as ``text_input`` plus every parameter as a one-element tensor
(``max_tokens`` INT32, 20 when unset); ``/generate`` as ``{"text_input", "parameters":
{"max_tokens"}, "stream"}``, streamed from ``/generate_stream``. It sends no credentials for
this provider (as real Triton has none), so the server here is started without API keys.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from maaskit.testing import MaaSKitServer, start_server

from ._helpers import EMBEDDING_MODEL, GENERATION_MODEL, TEXTS, TOLERANCE

pytestmark = [pytest.mark.e2e, pytest.mark.conformance]

# LiteLLM fetches its model price list from GitHub at import unless told to use its own copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
litellm = pytest.importorskip("litellm")

SCRIPT = "To be, or not to be"


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MaaSKitServer]:
    log_path = tmp_path_factory.mktemp("litellm") / "server.log"
    server = start_server(log_path, api_key="")  # faults enabled: scripted answers
    yield server
    server.stop()


def script_text(server: MaaSKitServer, route: str, times: int = 1) -> None:
    response = server.admin_request(
        "POST",
        "/_maaskit/answers",
        json={"answers": [{"text": SCRIPT, "route": route, "times": times}]},
    )
    assert response.status_code == 200, response.text


def v2(server: MaaSKitServer, model: str, path: str) -> str:
    return f"{server.url}/v2/models/{model}/{path}"


def test_litellm_embeddings_read_input_text_and_equal_the_openai_vectors(
    open_server: MaaSKitServer,
) -> None:
    answer: Any = litellm.embedding(
        model=f"triton/{EMBEDDING_MODEL}",
        api_base=v2(open_server, EMBEDDING_MODEL, "infer"),
        input=TEXTS,
    )
    vectors = np.array([item["embedding"] for item in answer.data], dtype=np.float64)
    reference = httpx.post(
        f"{open_server.url}/v1/embeddings",
        json={"model": EMBEDDING_MODEL, "input": TEXTS},
        timeout=60,
    )
    assert reference.status_code == 200, reference.text
    rows = [item["embedding"] for item in reference.json()["data"]]
    expected = np.array(rows, dtype=np.float64)
    assert vectors.shape == expected.shape
    assert np.abs(vectors - expected).max() < TOLERANCE


def test_litellm_infer_generation_honours_its_int32_max_tokens_input(
    open_server: MaaSKitServer,
) -> None:
    route = f"/v2/models/{GENERATION_MODEL}/infer"
    script_text(open_server, route, times=2)
    messages = [{"role": "user", "content": "The king"}]
    api_base = v2(open_server, GENERATION_MODEL, "infer")
    cut: Any = litellm.completion(
        model=f"triton/{GENERATION_MODEL}", api_base=api_base, messages=messages, max_tokens=3
    )
    text = cut.choices[0].message.content
    # Three tokens of the scripted answer: a strict, non-empty beginning of it.
    assert text
    assert SCRIPT.startswith(text)
    assert text != SCRIPT
    # Unset, LiteLLM sends max_tokens=20, enough for the whole answer.
    whole: Any = litellm.completion(
        model=f"triton/{GENERATION_MODEL}", api_base=api_base, messages=messages
    )
    assert whole.choices[0].message.content == SCRIPT


def test_litellm_generate_and_its_stream(open_server: MaaSKitServer) -> None:
    script_text(open_server, f"/v2/models/{GENERATION_MODEL}/generate*", times=2)
    messages = [{"role": "user", "content": "The king"}]
    api_base = v2(open_server, GENERATION_MODEL, "generate")
    answer: Any = litellm.completion(
        model=f"triton/{GENERATION_MODEL}", api_base=api_base, messages=messages, max_tokens=30
    )
    assert answer.choices[0].message.content == SCRIPT
    stream: Any = litellm.completion(
        model=f"triton/{GENERATION_MODEL}",
        api_base=api_base,
        messages=messages,
        max_tokens=30,
        stream=True,
    )
    pieces = [chunk.choices[0].delta.content or "" for chunk in stream]
    assert "".join(pieces) == SCRIPT
    assert len([piece for piece in pieces if piece]) > 1


def test_a_parameter_input_the_route_does_not_know_is_a_400_naming_it(
    open_server: MaaSKitServer,
) -> None:
    body: dict[str, Any] = {
        "inputs": [
            {"name": "text_input", "shape": [1], "datatype": "BYTES", "data": ["The king"]},
            {"name": "max_tokens", "shape": [1], "datatype": "INT32", "data": [4]},
            {"name": "beam_width", "shape": [1], "datatype": "INT32", "data": [2]},
        ]
    }
    response = httpx.post(v2(open_server, GENERATION_MODEL, "infer"), json=body, timeout=60)
    assert response.status_code == 400
    assert "beam_width" in response.json()["error"]
    body["inputs"] = body["inputs"][:2]
    body["parameters"] = {"max_tokens": 5}
    twice = httpx.post(v2(open_server, GENERATION_MODEL, "infer"), json=body, timeout=60)
    assert twice.status_code == 400
    assert "max_tokens" in twice.json()["error"]
