"""Scripted answers on the HF/TGI/TEI, KServe and Ollama routes, not only OpenAI's: a queued
embedding, label or text is the next matching route's answer in that protocol's shape."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from maaskit.testing import MaaSKitServer

EMBEDDER = "all-minilm-l6-v2"
CLASSIFIER = "sentiment"
GENERATOR = "tiny-shakespeare"
VECTOR = [0.25, -0.5, 0.75]
TEXT = "Good morrow, tester."


def post(server: MaaSKitServer, path: str, body: dict[str, Any]) -> httpx.Response:
    response = httpx.post(f"{server.url}{path}", json=body, headers=server.headers, timeout=120)
    assert response.status_code == 200, response.text
    return response


def sse_data(response: httpx.Response) -> list[dict[str, Any]]:
    return [
        json.loads(line.removeprefix("data:").strip())
        for line in response.text.splitlines()
        if line.startswith("data:")
    ]


@pytest.mark.parametrize(
    ("path", "body", "vectors_of"),
    [
        (f"/models/{EMBEDDER}/embed", {"inputs": ["a", "b"]}, lambda r: r),
        (f"/models/{EMBEDDER}", {"inputs": ["a", "b"]}, lambda r: r),
        (
            f"/v2/models/{EMBEDDER}/infer",
            {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]}]},
            lambda r: [r["outputs"][0]["data"][:3], r["outputs"][0]["data"][3:]],
        ),
        ("/api/embed", {"model": EMBEDDER, "input": ["a", "b"]}, lambda r: r["embeddings"]),
    ],
    ids=["tei-embed", "hf-feature-extraction", "kserve-infer", "ollama-embed"],
)
def test_a_scripted_embedding_answers_each_protocols_embedding_route(
    maaskit_server: MaaSKitServer, path: str, body: dict[str, Any], vectors_of: Any
) -> None:
    maaskit_server.answers.add({"embedding": VECTOR}, route=path)
    answer = post(maaskit_server, path, body).json()
    assert vectors_of(answer) == [VECTOR, VECTOR]
    # Used once: the next call answers with the model's own vectors.
    again = vectors_of(post(maaskit_server, path, body).json())
    assert again != [VECTOR, VECTOR]


def test_a_scripted_embedding_on_ollamas_legacy_route(maaskit_server: MaaSKitServer) -> None:
    maaskit_server.answers.add({"embedding": VECTOR}, route="/api/embeddings")
    body = {"model": EMBEDDER, "prompt": "a"}
    assert post(maaskit_server, "/api/embeddings", body).json() == {"embedding": VECTOR}
    assert len(post(maaskit_server, "/api/embeddings", body).json()["embedding"]) == 384


@pytest.mark.parametrize(
    ("path", "body", "label_of"),
    [
        (f"/models/{CLASSIFIER}/predict", {"inputs": "I hate it."}, lambda r: r[0]["label"]),
        (f"/models/{CLASSIFIER}", {"inputs": ["I hate it."]}, lambda r: r[0][0]["label"]),
        (
            f"/v2/models/{CLASSIFIER}/infer",
            {
                "inputs": [
                    {"name": "text", "datatype": "BYTES", "shape": [1], "data": ["I hate it."]}
                ]
            },
            lambda r: next(o for o in r["outputs"] if o["name"] == "label")["data"][0],
        ),
    ],
    ids=["tei-predict", "hf-text-classification", "kserve-infer"],
)
def test_a_scripted_label_answers_each_protocols_classification_route(
    maaskit_server: MaaSKitServer, path: str, body: dict[str, Any], label_of: Any
) -> None:
    natural = label_of(post(maaskit_server, path, body).json())
    scripted = "positive" if natural == "negative" else "negative"
    maaskit_server.answers.add({"label": scripted}, route=path)
    assert label_of(post(maaskit_server, path, body).json()) == scripted
    assert label_of(post(maaskit_server, path, body).json()) == natural


def test_a_scripted_label_the_model_does_not_have_is_a_400_in_the_routes_shape(
    maaskit_server: MaaSKitServer,
) -> None:
    maaskit_server.answers.add({"label": "sarcastic"}, route=f"/models/{CLASSIFIER}/predict")
    response = httpx.post(
        f"{maaskit_server.url}/models/{CLASSIFIER}/predict",
        json={"inputs": "x"},
        headers=maaskit_server.headers,
        timeout=60,
    )
    assert response.status_code == 400
    assert "sarcastic" in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "body", "text_of"),
    [
        (
            f"/models/{GENERATOR}/generate",
            {"inputs": "hi", "parameters": {"max_new_tokens": 40}},
            lambda r: r.json()["generated_text"],
        ),
        (
            f"/models/{GENERATOR}",
            {"inputs": "hi", "parameters": {"max_new_tokens": 40}},
            lambda r: r.json()[0]["generated_text"],
        ),
        (
            f"/models/{GENERATOR}/generate_stream",
            {"inputs": "hi", "parameters": {"max_new_tokens": 40}},
            lambda r: sse_data(r)[-1]["generated_text"],
        ),
        (
            f"/v2/models/{GENERATOR}/generate",
            {"text_input": "hi", "parameters": {"max_tokens": 40}},
            lambda r: r.json()["text_output"],
        ),
        (
            f"/v2/models/{GENERATOR}/generate_stream",
            {"text_input": "hi", "parameters": {"max_tokens": 40}},
            lambda r: "".join(item["text_output"] for item in sse_data(r)),
        ),
        (
            f"/v2/models/{GENERATOR}/infer",
            {
                "inputs": [
                    {"name": "text_input", "datatype": "BYTES", "shape": [1], "data": ["hi"]}
                ],
                "parameters": {"max_tokens": 40},
            },
            lambda r: r.json()["outputs"][0]["data"][0],
        ),
    ],
    ids=["tgi-generate", "hf-root", "tgi-stream", "kserve-generate", "kserve-stream", "infer"],
)
def test_a_scripted_text_answers_each_protocols_generation_route(
    maaskit_server: MaaSKitServer, path: str, body: dict[str, Any], text_of: Any
) -> None:
    maaskit_server.answers.text(TEXT, route=path)
    assert text_of(post(maaskit_server, path, body)) == TEXT
    assert text_of(post(maaskit_server, path, body)) != TEXT
