"""The kserve provider (Open Inference Protocol v2, Triton extensions), sync and async.

Binary answers are built here byte by byte with ``struct``, independently of the decoder.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import httpx
import maaskit
import pytest
import respx
from maaskit.providers import KServeProvider

from ..conftest import Harness, sse
from ._util import sent_json, split_every, streamed, texts_until_error

BASE = "http://triton.test:8000"
INFER = f"{BASE}/v2/models/sentiment/infer"
LABELS = ["negative", "neutral", "positive"]


def client(harness: Harness, **options: Any) -> Any:
    options.setdefault("provider", "kserve")
    return harness.client(base_url=BASE, **options)


def tensor(name: str, datatype: str, shape: list[int], data: list[Any]) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape, "data": data}


def infer_answer(*outputs: dict[str, Any]) -> dict[str, Any]:
    return {"model_name": "sentiment", "model_version": "1", "outputs": list(outputs)}


def length_prefixed(*texts: str) -> bytes:
    return b"".join(struct.pack("<I", len(t.encode())) + t.encode() for t in texts)


def binary_answer(*outputs: tuple[str, str, list[int], bytes]) -> httpx.Response:
    """Triton's binary extension: JSON header (outputs with binary_data_size), then the bytes."""
    header = {
        "model_name": "sentiment",
        "outputs": [
            {"name": n, "datatype": d, "shape": s, "parameters": {"binary_data_size": len(raw)}}
            for n, d, s, raw in outputs
        ],
    }
    head = json.dumps(header).encode()
    body = head + b"".join(raw for *_, raw in outputs)
    return httpx.Response(
        200,
        content=body,
        headers={
            "content-type": "application/octet-stream",
            "Inference-Header-Content-Length": str(len(head)),
        },
    )


# -- classification ------------------------------------------------------------------------


async def test_classify_request_and_json_answer_with_label_names(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(INFER).respond(
        200,
        json=infer_answer(
            tensor("label", "BYTES", [2], ["positive", "negative"]),
            tensor("probabilities", "FP32", [2, 3], [0.1, 0.2, 0.7, 0.6, 0.3, 0.1]),
            tensor("labels", "BYTES", [3], LABELS),
        ),
    )

    response = await harness.call(
        client(harness).classify, model="sentiment", input=["good", "bad"]
    )

    assert sent_json(route) == {
        "inputs": [{"name": "text", "shape": [2, 1], "datatype": "BYTES", "data": ["good", "bad"]}]
    }
    assert [r.label for r in response.results] == ["positive", "negative"]
    assert response.results[0].score == pytest.approx(0.7)
    assert response.results[1].scores == pytest.approx(
        {"negative": 0.6, "neutral": 0.3, "positive": 0.1}
    )
    assert response.results[1].probs == pytest.approx([0.6, 0.3, 0.1])
    assert response.model == "sentiment"


async def test_label_names_from_the_provider_option_and_nested_data(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(INFER).respond(
        200, json=infer_answer(tensor("probabilities", "FP32", [1, 3], [[0.2, 0.5, 0.3]]))
    )
    provider = KServeProvider(labels=LABELS)

    response = await harness.call(
        client(harness, provider=provider).classify, model="sentiment", input="meh"
    )

    assert response.results[0].label == "neutral"
    assert set(response.results[0].scores) == set(LABELS)


async def test_a_batching_triton_models_answer_with_labels_in_every_row(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    # Every output of a Triton model with max_batch_size > 0 has the batch dimension.
    respx_mock.post(INFER).respond(
        200,
        json=infer_answer(
            tensor("probabilities", "FP32", [2, 3], [0.1, 0.2, 0.7, 0.6, 0.3, 0.1]),
            tensor("label", "BYTES", [2, 1], ["positive", "negative"]),
            tensor("labels", "BYTES", [2, 3], LABELS + LABELS),
        ),
    )

    response = await harness.call(client(harness).classify, model="sentiment", input=["a", "b"])

    assert [r.label for r in response.results] == ["positive", "negative"]
    assert response.results[1].scores == pytest.approx(
        {"negative": 0.6, "neutral": 0.3, "positive": 0.1}
    )


async def test_label_rows_that_disagree_are_a_validation_error(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(INFER).respond(
        200,
        json=infer_answer(
            tensor("probabilities", "FP32", [2, 3], [0.1, 0.2, 0.7, 0.6, 0.3, 0.1]),
            tensor("labels", "BYTES", [2, 3], [*LABELS, "a", "b", "c"]),
        ),
    )

    with pytest.raises(maaskit.ResponseValidationError, match="different labels"):
        await harness.call(client(harness).classify, model="sentiment", input=["a", "b"])


async def test_without_label_names(harness: Harness, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(INFER).mock(
        side_effect=[
            httpx.Response(
                200, json=infer_answer(tensor("probabilities", "FP32", [1, 2], [0.25, 0.75]))
            ),
            httpx.Response(
                200,
                json=infer_answer(
                    tensor("probabilities", "FP32", [1, 2], [0.25, 0.75]),
                    tensor("label", "BYTES", [1], ["yes"]),
                ),
            ),
        ]
    )
    c = client(harness)

    by_index = await harness.call(c.classify, model="sentiment", input="x")
    top_only = await harness.call(c.classify, model="sentiment", input="x")

    assert by_index.results[0].label == "1"
    assert by_index.results[0].scores == {"0": 0.25, "1": 0.75}
    assert top_only.results[0].label == "yes"
    assert top_only.results[0].scores == {"yes": 0.75}
    assert top_only.results[0].probs == [0.25, 0.75]


async def test_binary_classification_answer(harness: Harness, respx_mock: respx.MockRouter) -> None:
    probabilities = struct.pack("<6f", 0.125, 0.25, 0.625, 0.5, 0.25, 0.25)
    route = respx_mock.post(INFER).mock(
        return_value=binary_answer(
            ("label", "BYTES", [2], length_prefixed("positive", "négatif")),
            ("probabilities", "FP32", [2, 3], probabilities),
        )
    )
    provider = KServeProvider(labels=["négatif", "neutral", "positive"], binary_output=True)

    response = await harness.call(
        client(harness, provider=provider).classify, model="sentiment", input=["a", "b"]
    )

    assert sent_json(route)["parameters"] == {"binary_data_output": True}
    assert [r.label for r in response.results] == ["positive", "négatif"]
    assert response.results[0].probs == [0.125, 0.25, 0.625]
    assert response.results[1].score == 0.5


# -- embeddings ----------------------------------------------------------------------------


async def test_embed_json_answer(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{BASE}/v2/models/minilm/infer").respond(
        200,
        json=infer_answer(tensor("embedding", "FP32", [2, 2], [0.5, -0.5, 1.0, 2.0])),
    )

    response = await harness.call(
        client(harness).embed, model="minilm", input=["a", "b"], provider_params={"priority": 1}
    )

    assert sent_json(route)["parameters"] == {"priority": 1}
    assert response.vectors == [[0.5, -0.5], [1.0, 2.0]]


@pytest.mark.parametrize(("datatype", "fmt"), [("FP32", "<4f"), ("FP64", "<4d"), ("FP16", "<4e")])
async def test_embed_binary_answer_of_each_float_type(
    harness: Harness, respx_mock: respx.MockRouter, datatype: str, fmt: str
) -> None:
    raw = struct.pack(fmt, 1.5, -2.0, 0.25, 4.0)
    respx_mock.post(f"{BASE}/v2/models/minilm/versions/3/infer").mock(
        return_value=binary_answer(("embedding", datatype, [2, 2], raw))
    )

    response = await harness.call(
        client(harness).embed,
        model="minilm",
        input=["a", "b"],
        provider_params={"model_version": "3"},
    )

    assert response.vectors == [[1.5, -2.0], [0.25, 4.0]]


async def test_custom_tensor_names_and_version_option(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE}/v2/models/e5/versions/2/infer").respond(
        200, json=infer_answer(tensor("sentence_embedding", "FP32", [1, 2], [1, 0]))
    )
    provider = KServeProvider(
        input_name="TEXT", embedding_output="sentence_embedding", model_version="2"
    )

    response = await harness.call(client(harness, provider=provider).embed, model="e5", input="a")

    assert sent_json(route)["inputs"][0]["name"] == "TEXT"
    assert response.vectors == [[1.0, 0.0]]


@pytest.mark.parametrize(
    ("body", "headers", "match"),
    [
        (json.dumps(infer_answer()).encode(), {}, "no output tensor 'embedding'"),
        (
            json.dumps(infer_answer(tensor("embedding", "FP32", [2, 2], [1.0]))).encode(),
            {},
            "1 elements for shape",
        ),
        (b'{"outputs": []}xx', {"Inference-Header-Content-Length": "99"}, "does not fit"),
        (
            json.dumps(
                infer_answer(
                    {
                        "name": "embedding",
                        "datatype": "FP32",
                        "shape": [1, 2],
                        "parameters": {"binary_data_size": 8},
                    }
                )
            ).encode()
            + b"\x00\x00",
            {"Inference-Header-Content-Length": "-1"},
            "does not fit",
        ),
        (b"not json", {}, "embed"),
    ],
)
async def test_malformed_infer_answers_are_validation_errors(
    harness: Harness, respx_mock: respx.MockRouter, body: bytes, headers: dict[str, str], match: str
) -> None:
    respx_mock.post(f"{BASE}/v2/models/m/infer").respond(200, content=body, headers=headers)

    with pytest.raises(maaskit.ResponseValidationError, match=match):
        await harness.call(client(harness).embed, model="m", input="a")


async def test_truncated_binary_tensor_is_a_validation_error(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    good = binary_answer(("embedding", "FP32", [1, 2], struct.pack("<2f", 1, 2)))
    respx_mock.post(f"{BASE}/v2/models/m/infer").respond(
        200, content=good.content[:-3], headers=dict(good.headers)
    )

    with pytest.raises(maaskit.ResponseValidationError, match="binary_data_size"):
        await harness.call(client(harness).embed, model="m", input="a")


# -- generation and models -----------------------------------------------------------------


async def test_generate(harness: Harness, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{BASE}/v2/models/tiny/generate").respond(
        200, json={"model_name": "tiny", "model_version": "1", "text_output": "To be"}
    )

    completion = await harness.call(
        client(harness).complete, model="tiny", prompt="Hamlet:", max_tokens=4, temperature=0.5
    )

    assert sent_json(route) == {
        "text_input": "Hamlet:",
        "parameters": {"max_tokens": 4, "temperature": 0.5},
    }
    assert completion.text == "To be"
    assert completion.model == "tiny"


@pytest.mark.parametrize("size", [4, 10_000])
async def test_generate_stream_sse(
    harness: Harness, respx_mock: respx.MockRouter, size: int
) -> None:
    events = [json.dumps({"model_name": "tiny", "text_output": t}) for t in ("To", " be", ",")]
    route = respx_mock.post(f"{BASE}/v2/models/tiny/generate_stream").mock(
        return_value=streamed(split_every(sse(*events), size))
    )

    stream = await harness.call(
        client(harness).complete, model="tiny", prompt="Hamlet:", stream=True, max_tokens=3
    )

    assert [c.text for c in await harness.collect(stream)] == ["To", " be", ","]
    assert stream.text == "To be,"
    assert sent_json(route) == {
        "text_input": "Hamlet:",
        "parameters": {"max_tokens": 3, "stream": True},
    }


async def test_generate_stream_error_event(harness: Harness, respx_mock: respx.MockRouter) -> None:
    body = sse(json.dumps({"text_output": "To"}), json.dumps({"error": "model crashed"}))
    respx_mock.post(f"{BASE}/v2/models/tiny/generate_stream").mock(return_value=streamed([body]))

    stream = await harness.call(client(harness).complete, model="tiny", prompt="p", stream=True)
    texts, error = await texts_until_error(harness.is_async, stream)

    assert texts == ["To"]
    assert isinstance(error, maaskit.ServerError)
    assert error.provider_message == "model crashed"


async def test_models_from_the_repository_index(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{BASE}/v2/repository/index").respond(
        200,
        json=[
            {"name": "sentiment", "version": "1", "state": "READY"},
            {"name": "tiny", "version": "1", "state": "UNAVAILABLE", "reason": "unloaded"},
        ],
    )

    models = await harness.call(client(harness).models)

    assert [m.id for m in models] == ["sentiment", "tiny"]
    assert models[1].raw["state"] == "UNAVAILABLE"
    assert sent_json(route) == {}


async def test_error_body_is_typed_with_the_server_message(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{BASE}/v2/models/nope/infer").respond(
        400, json={"error": "Request for unknown model: 'nope' is not found"}
    )

    with pytest.raises(maaskit.BadRequestError) as caught:
        await harness.call(client(harness).classify, model="nope", input="x")

    assert caught.value.provider_message == "Request for unknown model: 'nope' is not found"


@pytest.mark.parametrize(
    ("method", "kwargs", "error", "match"),
    [
        ("chat", {"messages": [{"role": "user", "content": "hi"}]}, NotImplementedError, "chat"),
        ("complete", {"prompt": ["a", "b"]}, ValueError, "one prompt per call"),
        ("complete", {"prompt": "a", "n": 2}, ValueError, "n must be 1"),
        (
            "embed",
            {"input": "a", "provider_params": {"model_version": 3}},
            TypeError,
            "model_version",
        ),
    ],
)
async def test_bad_calls_fail_before_any_request(
    harness: Harness,
    respx_mock: respx.MockRouter,
    method: str,
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        await harness.call(getattr(client(harness), method), model="m", **kwargs)

    assert respx_mock.calls.call_count == 0


def test_health_and_metadata_request_descriptions() -> None:
    provider = KServeProvider()

    assert (provider.health_request().method, provider.health_request().path) == (
        "GET",
        "v2/health/live",
    )
    assert provider.health_request(ready=True).path == "v2/health/ready"
    assert provider.metadata_request("sentiment").path == "v2/models/sentiment"
    assert provider.metadata_request("a b", "2").path == "v2/models/a%20b/versions/2"


@pytest.mark.parametrize(
    "options",
    [{"labels": "abc"}, {"input_name": ""}, {"binary_output": 1}, {"model_version": 2}],
)
def test_bad_provider_options(options: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        KServeProvider(**options)
