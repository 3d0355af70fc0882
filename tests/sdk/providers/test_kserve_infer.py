"""``infer()``: raw KServe v2 tensors against MLServer's and Triton's recorded shapes, sync and
async. The MLServer bodies are those of its sklearn runtime serving the iris example
(``mlserver-sklearn``, ``content_type: np``; ``SELDON_RECORDED`` is verbatim the answer
recorded in seldon-core's ``samples/k8s-examples.md``, MLServer 1.3); Triton's binary answer
is built byte by byte."""

from __future__ import annotations

import json
import struct
from typing import Any

import httpx
import maaskit
import numpy as np
import pytest
import respx
from maaskit import InferInput, RequestedOutput

from ..conftest import Harness

BASE = "http://mlserver.test:8080"
INFER = f"{BASE}/v2/models/iris/infer"

# What MLServer 1.x answers for the iris sklearn model (one row, default outputs).
MLSERVER_ANSWER = {
    "model_name": "iris",
    "model_version": "v0.1.0",
    "id": "5d4b5a4c-4f38-4b6f-9a3e-2a6b5f2c7d10",
    "parameters": {},
    "outputs": [
        {
            "name": "predict",
            "shape": [2, 1],
            "datatype": "INT64",
            "parameters": {"content_type": "np"},
            "data": [0, 2],
        }
    ],
}
MLSERVER_PROBA = {
    "model_name": "iris",
    "id": "r-2",
    "outputs": [
        {
            "name": "predict_proba",
            "shape": [2, 3],
            "datatype": "FP64",
            "parameters": {"content_type": "np"},
            "data": [0.97, 0.03, 0.0, 0.0, 0.1, 0.9],
        }
    ],
}
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
SELDON_REQUEST: dict[str, Any] = {
    "inputs": [{"name": "predict", "shape": [1, 4], "datatype": "FP32", "data": [[1, 2, 3, 4]]}]
}
SELDON_RECORDED = {
    "model_name": "iris_1",
    "model_version": "1",
    "id": "24922888-94a9-4c12-b1a8-db7e9c31ec66",
    "parameters": {},
    "outputs": [{"name": "predict", "shape": [1, 1], "datatype": "INT64", "data": [2]}],
}


def kserve(harness: Harness, **options: Any) -> Any:
    return harness.client(provider="kserve", base_url=BASE, max_retries=0, **options)


def sent(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


async def test_numeric_tensor_from_lists_without_numpy(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(INFER).respond(200, json=MLSERVER_ANSWER)
    client = kserve(harness)
    tensor = InferInput(name="predict", datatype="FP32", shape=[2, 4], data=ROWS)
    answer = await harness.call(client.infer, model="iris", inputs=[tensor])

    assert sent(route) == {
        "inputs": [
            {
                "name": "predict",
                "datatype": "FP32",
                "shape": [2, 4],
                "data": [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3],
            }
        ]
    }
    assert isinstance(answer, maaskit.InferResponse)
    assert answer.model_name == "iris"
    assert answer.model_version == "v0.1.0"
    assert answer.id == MLSERVER_ANSWER["id"]
    predict = answer["predict"]
    assert (predict.datatype, predict.shape, predict.data) == ("INT64", [2, 1], [0, 2])
    assert predict.parameters == {"content_type": "np"}
    assert predict.rows() == [[0], [2]]
    assert answer.response is not None
    assert answer.response.status_code == 200


async def test_numpy_inputs_and_named_outputs(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(INFER).respond(200, json=MLSERVER_PROBA)
    client = kserve(harness)
    answer = await harness.call(
        client.infer,
        model="iris",
        inputs={"predict": np.asarray(ROWS, dtype=np.float32)},
        outputs=["predict_proba"],
        parameters={"content_type": "np"},
        request_id="r-2",
    )

    body = sent(route)
    (tensor,) = body["inputs"]
    assert tensor["datatype"] == "FP32"
    assert tensor["shape"] == [2, 4]
    assert tensor["data"] == pytest.approx([x for row in ROWS for x in row], rel=1e-6)
    assert body["outputs"] == [{"name": "predict_proba"}]
    assert body["parameters"] == {"content_type": "np"}
    assert body["id"] == "r-2"
    probabilities = answer.as_numpy("predict_proba")
    assert probabilities.dtype == np.float64
    assert probabilities.shape == (2, 3)
    assert probabilities.argmax(axis=1).tolist() == [0, 2]


@pytest.mark.parametrize(
    ("value", "datatype", "shape"),
    [
        ([[1, 2], [3, 4]], "INT64", [2, 2]),
        ([0.5, 1.5], "FP32", [2]),
        ([True, False, True], "BOOL", [3]),
        (["a", "b"], "BYTES", [2]),
        (7, "INT64", [1]),
        (np.arange(6, dtype=np.int32).reshape(2, 3), "INT32", [2, 3]),
        (np.array([1.0, 2.0], dtype=np.float16), "FP16", [2]),
        (np.array(["x", "y"], dtype=object), "BYTES", [2]),
        (np.array([[True], [False]]), "BOOL", [2, 1]),
    ],
)
def test_input_datatype_and_shape_inferred(value: Any, datatype: str, shape: list[int]) -> None:
    tensor = InferInput.of("x", value)
    assert (tensor.datatype, tensor.shape) == (datatype, shape)


def test_bad_inputs_are_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="has 3 elements for shape"):
        InferInput(name="x", datatype="FP32", shape=[2, 2], data=[1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="not a INT64 element"):
        InferInput(name="x", datatype="INT64", shape=[2], data=[1, 2.5])
    with pytest.raises(ValueError, match="rectangular"):
        InferInput.of("x", [[1, 2], [3]])
    with pytest.raises(ValueError, match="JSON cannot carry"):
        InferInput(name="x", datatype="FP32", shape=[1], data=[float("nan")])
    with pytest.raises(ValueError, match="datatype"):
        InferInput(name="x", datatype="FP128", shape=[1], data=[1.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mixes element types"):
        InferInput.of("x", [1, "a"])


async def test_bad_call_arguments_send_nothing(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(INFER).respond(200, json=MLSERVER_ANSWER)
    client = kserve(harness)
    with pytest.raises(ValueError, match="must not be empty"):
        await harness.call(client.infer, model="iris", inputs={})
    x = InferInput.of("x", [1])
    with pytest.raises(ValueError, match="unique"):
        await harness.call(client.infer, model="iris", inputs=[x, x])
    with pytest.raises(TypeError, match="outputs must be a list"):
        await harness.call(client.infer, model="iris", inputs={"x": [1]}, outputs="predict")
    assert route.call_count == 0


async def test_binary_outputs_are_asked_for_and_decoded(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    floats = struct.pack("<4f", 0.25, 0.75, 0.5, 0.5)
    labels = b"".join(struct.pack("<I", len(t)) + t for t in (b"neg", b"pos"))
    header = json.dumps(
        {
            "model_name": "sentiment",
            "model_version": "1",
            "outputs": [
                {
                    "name": "probabilities",
                    "datatype": "FP32",
                    "shape": [2, 2],
                    "parameters": {"binary_data_size": len(floats)},
                },
                {
                    "name": "label",
                    "datatype": "BYTES",
                    "shape": [2],
                    "parameters": {"binary_data_size": len(labels)},
                },
            ],
        }
    ).encode()
    route = respx_mock.post(f"{BASE}/v2/models/sentiment/versions/1/infer").respond(
        200,
        content=header + floats + labels,
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
    client = kserve(harness)
    answer = await harness.call(
        client.infer,
        model="sentiment",
        model_version="1",
        inputs={"text": [["bad"], ["good"]]},
        outputs=["probabilities", RequestedOutput(name="label", binary_data=True)],
        binary_data=True,
    )

    assert sent(route)["outputs"] == [
        {"name": "probabilities", "parameters": {"binary_data": True}},
        {"name": "label", "parameters": {"binary_data": True}},
    ]
    assert answer["probabilities"].data == [0.25, 0.75, 0.5, 0.5]
    assert answer["label"].data == [b"neg", b"pos"]
    assert answer["label"].texts() == ["neg", "pos"]
    assert answer.as_numpy("label").tolist() == [b"neg", b"pos"]
    assert answer.names == ["probabilities", "label"]
    assert "label" in answer
    assert "nope" not in answer
    with pytest.raises(KeyError, match="outputs: probabilities, label"):
        answer.output("nope")


async def test_json_bytes_outputs_are_bytes_too(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    output = {"name": "label", "datatype": "BYTES", "shape": [1], "data": ["pos"]}
    respx_mock.post(INFER).respond(200, json={"model_name": "iris", "outputs": [output]})
    answer = await harness.call(kserve(harness).infer, model="iris", inputs={"text": ["x"]})
    assert answer["label"].data == [b"pos"]


async def test_malformed_answer_is_a_response_validation_error(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    output = {"name": "y", "datatype": "FP32", "shape": [2, 2], "data": [1.0]}
    respx_mock.post(INFER).respond(200, json={"outputs": [output]})
    with pytest.raises(maaskit.ResponseValidationError, match="1 elements for shape"):
        await harness.call(kserve(harness).infer, model="iris", inputs={"x": [1.0]})


async def test_mlserver_422_detail_list_is_the_message(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    detail = [
        {
            "loc": ["body", "inputs", 0, "data"],
            "msg": "value is not a valid list",
            "type": "type_error.list",
        }
    ]
    respx_mock.post(INFER).respond(422, json={"detail": detail})
    with pytest.raises(maaskit.UnprocessableEntityError) as caught:
        await harness.call(kserve(harness).infer, model="iris", inputs={"x": [1.0]})
    assert caught.value.provider_message == "body.inputs.0.data: value is not a valid list"


@pytest.mark.parametrize("provider", ["openai", "hf", "ollama"])
async def test_providers_without_a_tensor_api_refuse_infer(
    harness: Harness, respx_mock: respx.MockRouter, provider: str
) -> None:
    client = harness.client(provider=provider, base_url=BASE)
    with pytest.raises(maaskit.UnsupportedTaskError, match="has no 'infer' task"):
        await harness.call(client.infer, model="iris", inputs={"x": [1.0]})
    assert isinstance(maaskit.UnsupportedTaskError("x"), NotImplementedError)
    assert not respx_mock.calls


async def test_a_router_skips_endpoints_without_a_tensor_api(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(INFER).respond(200, json=MLSERVER_ANSWER)
    client = harness.client(
        base_url=None,
        api_key=None,
        endpoints=[
            maaskit.Endpoint(name="vllm", provider="openai", base_url="http://vllm.test/v1"),
            maaskit.Endpoint(name="mlserver", provider="kserve", base_url=BASE),
        ],
    )
    answer = await harness.call(client.infer, model="iris", inputs={"predict": ROWS})
    assert answer.response.endpoint == "mlserver"


async def test_per_call_options_are_not_sent_in_the_body(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(INFER).respond(200, json=MLSERVER_ANSWER)
    await harness.call(
        kserve(harness).infer,
        model="iris",
        inputs={"predict": ROWS},
        timeout=5,
        extra_headers={"X-Tenant": "t1"},
        extra_query={"trace": "1"},
    )
    request: httpx.Request = route.calls.last.request
    assert request.headers["x-tenant"] == "t1"
    assert request.url.params["trace"] == "1"
    assert set(sent(route)) == {"inputs"}


async def test_binary_inputs_follow_the_binary_tensor_extension(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(INFER).respond(200, json=MLSERVER_ANSWER)
    await harness.call(
        kserve(harness).infer,
        model="iris",
        inputs=[
            InferInput(name="x", datatype="FP32", shape=[1, 2], data=[0.5, 2.0]),
            InferInput(name="ids", datatype="INT64", shape=[2], data=[7, -1]),
            InferInput(name="text", datatype="BYTES", shape=[2], data=["hé", "b"]),
        ],
        binary_inputs=True,
    )
    request: httpx.Request = route.calls.last.request
    assert request.headers["content-type"] == "application/octet-stream"
    length = int(request.headers["inference-header-content-length"])
    header = json.loads(request.content[:length])
    floats = struct.pack("<2f", 0.5, 2.0)
    ints = struct.pack("<2q", 7, -1)
    texts = struct.pack("<I", 3) + "hé".encode() + struct.pack("<I", 1) + b"b"
    assert header == {
        "inputs": [
            {
                "name": "x",
                "datatype": "FP32",
                "shape": [1, 2],
                "parameters": {"binary_data_size": 8},
            },
            {
                "name": "ids",
                "datatype": "INT64",
                "shape": [2],
                "parameters": {"binary_data_size": 16},
            },
            {
                "name": "text",
                "datatype": "BYTES",
                "shape": [2],
                "parameters": {"binary_data_size": len(texts)},
            },
        ]
    }
    assert request.content[length:] == floats + ints + texts


async def test_the_recorded_seldon_mlserver_exchange(
    harness: Harness, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(INFER).respond(200, json=SELDON_RECORDED)
    (given,) = SELDON_REQUEST["inputs"]
    tensor = InferInput(
        name=given["name"], datatype="FP32", shape=given["shape"], data=given["data"]
    )
    answer = await harness.call(kserve(harness).infer, model="iris", inputs=[tensor])
    # The same tensor, flat (MLServer reads flat and nested data alike).
    assert sent(route)["inputs"] == [{**given, "data": [1, 2, 3, 4]}]
    assert answer.model_name == "iris_1"
    assert answer.as_numpy("predict").tolist() == [[2]]
