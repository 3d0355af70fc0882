"""The exported repository on a real ``tritonserver``: text in, the reference server's answers out.

Both servers are asked the same texts through the same clients (the SDK's ``kserve`` provider,
then ``tritonclient``), batched and one by one: labels must be equal, scores within 1e-4 and
embeddings at cosine >= 0.9999 (Triton pads a batch like the reference server does, but its
batches are not the same ones). Batching is read from Triton's own metrics.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import maaskit
import numpy as np
import numpy.typing as npt
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from _support.server import ServerProcess
from maaskit.testing import TritonServer
from prometheus_client.parser import text_string_to_metric_families
from tritonclient.utils import InferenceServerException

from .conftest import BATCH, BATCHING_MODEL, ENSEMBLES

pytestmark = [pytest.mark.e2e, pytest.mark.conformance]

EMBEDDING = "all-minilm-l6-v2"
SENTIMENT = "sentiment"
GENERATION = "tiny-shakespeare"
TEXTS = [
    "I love this, it is wonderful!",
    "This is awful and I hate it.",
    "ok",
    "The meeting was moved to Thursday afternoon, which works for everyone on the team.",
    "Worst. Service. Ever. Never coming back to this place again, what a waste of money.",
]
MIN_COSINE = 0.9999
SCORE_TOLERANCE = 1e-4
TOO_LONG = "word " * 400  # over the models' max_input_tokens (256)
STEPS = ("tokenize", "onnx", "postprocess")


@pytest.fixture(scope="module")
def on_triton(triton: TritonServer) -> Iterator[maaskit.Client]:
    with triton.client(max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def on_reference(reference_server: ServerProcess) -> Iterator[maaskit.Client]:
    client = maaskit.Client(
        provider="kserve", base_url=reference_server.base_url, api_key=reference_server.api_key
    )
    with client:
        yield client


@pytest.fixture(scope="module")
def http(triton: TritonServer) -> Iterator[triton_http.InferenceServerClient]:
    client = triton_http.InferenceServerClient(triton.http_address, network_timeout=60.0)
    yield client
    client.close()


def cosines(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> list[float]:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return [float(x) for x in (a * b).sum(axis=1)]


def vectors(client: maaskit.Client, texts: list[str]) -> npt.NDArray[np.float64]:
    return np.array(client.embed(model=EMBEDDING, input=texts).vectors, dtype=np.float64)


def text_tensor(
    module: object, texts: list[str], *, binary: bool = True, name: str = "text"
) -> object:
    tensor = module.InferInput(name, [len(texts), 1], "BYTES")  # type: ignore[attr-defined]
    data = np.array([t.encode() for t in texts], dtype=np.object_).reshape(-1, 1)
    if module is triton_http:
        tensor.set_data_from_numpy(data, binary_data=binary)
    else:
        tensor.set_data_from_numpy(data)
    return tensor


def as_text(element: object) -> str:
    # tritonclient gives bytes from binary outputs and str from JSON ones.
    return element.decode() if isinstance(element, bytes) else str(element)


# -- the SDK's kserve provider, unchanged ------------------------------------------------------


def test_embeddings_equal_the_reference_servers_batched_and_alone(
    on_triton: maaskit.Client, on_reference: maaskit.Client
) -> None:
    reference = vectors(on_reference, TEXTS)

    batched = vectors(on_triton, TEXTS)
    alone = np.vstack([vectors(on_triton, [text]) for text in TEXTS])

    assert batched.shape == (len(TEXTS), 384)
    assert min(cosines(batched, reference)) >= MIN_COSINE
    assert min(cosines(alone, reference)) >= MIN_COSINE
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)  # normalised


def test_classification_labels_and_scores_equal_the_reference_servers(
    on_triton: maaskit.Client, on_reference: maaskit.Client
) -> None:
    reference = on_reference.classify(model=SENTIMENT, input=TEXTS).results

    batched = on_triton.classify(model=SENTIMENT, input=TEXTS).results
    alone = [on_triton.classify(model=SENTIMENT, input=[text]).results[0] for text in TEXTS]

    for results in (batched, alone):
        assert [r.label for r in results] == [r.label for r in reference]
        for mine, theirs in zip(results, reference, strict=True):
            assert set(mine.scores) == {"negative", "neutral", "positive"}
            assert mine.scores == pytest.approx(theirs.scores, abs=SCORE_TOLERANCE)
            assert mine.score == pytest.approx(theirs.score, abs=SCORE_TOLERANCE)
    assert {r.label for r in reference} >= {"positive", "negative"}  # the texts tell classes apart


def test_truncation_parameters_work_as_on_the_reference_server(
    on_triton: maaskit.Client, on_reference: maaskit.Client
) -> None:
    mine = on_triton.embed(
        model=EMBEDDING, input=[TOO_LONG], provider_params={"truncate": True}
    ).vectors
    theirs = on_reference.embed(
        model=EMBEDDING, input=[TOO_LONG], provider_params={"truncate": True}
    ).vectors

    assert min(cosines(np.array(mine), np.array(theirs))) >= MIN_COSINE


def test_the_model_list_is_triton_repository_index(on_triton: maaskit.Client) -> None:
    names = {model.id for model in on_triton.models()}

    ensemble_steps = {f"{m}_{step}" for m in ENSEMBLES.values() for step in STEPS}
    exported = {EMBEDDING, SENTIMENT, GENERATION, BATCHING_MODEL, *ENSEMBLES.values()}
    assert names == {*exported, *ensemble_steps}


def test_the_ensemble_export_answers_like_the_reference_server(
    on_triton: maaskit.Client, on_reference: maaskit.Client
) -> None:
    # Text through tokenize → the graph (on a stand-in for the onnxruntime backend) → postprocess.
    embedded = vectors(on_triton, TEXTS)  # the Python-backend model
    through_ensemble = np.array(
        on_triton.embed(model=ENSEMBLES[EMBEDDING], input=TEXTS).vectors, dtype=np.float64
    )
    classified = on_triton.classify(model=ENSEMBLES[SENTIMENT], input=TEXTS).results

    assert min(cosines(through_ensemble, vectors(on_reference, TEXTS))) >= MIN_COSINE
    assert min(cosines(through_ensemble, embedded)) >= MIN_COSINE
    reference = on_reference.classify(model=SENTIMENT, input=TEXTS).results
    assert [r.label for r in classified] == [r.label for r in reference]
    for mine, theirs in zip(classified, reference, strict=True):
        assert mine.scores == pytest.approx(theirs.scores, abs=SCORE_TOLERANCE)
    with pytest.raises(maaskit.BadRequestError, match="more than this model's limit"):
        on_triton.embed(model=ENSEMBLES[EMBEDDING], input=[TOO_LONG])


# -- generation: a decoupled model behind Triton's generate extension --------------------------


def test_greedy_generation_equals_the_reference_servers(
    on_triton: maaskit.Client, on_reference: maaskit.Client
) -> None:
    options: dict[str, Any] = {"model": GENERATION, "max_tokens": 12, "temperature": 0}
    for prompt in ("The king", "O Romeo, wherefore"):
        mine = on_triton.complete(prompt=prompt, **options).text
        theirs = on_reference.complete(prompt=prompt, **options).text

        assert mine == theirs
        assert mine


def test_generation_streams_piece_by_piece(
    on_triton: maaskit.Client, on_reference: maaskit.Client
) -> None:
    options: dict[str, Any] = {
        "model": GENERATION,
        "prompt": "The king",
        "max_tokens": 12,
        "temperature": 0,
    }
    with on_triton.complete(stream=True, **options) as stream:
        pieces = [chunk.text for chunk in stream]

    assert len(pieces) > 1
    assert "".join(pieces) == on_reference.complete(**options).text


def test_a_prompt_over_the_context_is_a_400(
    on_triton: maaskit.Client, triton: TritonServer
) -> None:
    with pytest.raises(maaskit.BadRequestError, match="context is 256 tokens"):
        on_triton.complete(model=GENERATION, prompt="The king " * 200, max_tokens=8)
    # The SDK refuses a negative temperature before sending; the exported model's own check
    # is reached with a raw request, as a client without that check would send it.
    with pytest.raises(maaskit.InvalidRequestError, match="temperature must be >= 0"):
        on_triton.complete(model=GENERATION, prompt="The king", temperature=-1)
    answer = httpx.post(
        f"{triton.url}/v2/models/{GENERATION}/generate",
        json={"text_input": "The king", "parameters": {"temperature": -1}},
        timeout=60,
    )
    assert answer.status_code == 400
    assert "'temperature' must be >= 0" in answer.json()["error"]


# -- tritonclient -------------------------------------------------------------------------------


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_tritonclient_http_reads_the_same_answers(
    http: triton_http.InferenceServerClient, on_reference: maaskit.Client, binary: bool
) -> None:
    outputs = [
        triton_http.InferRequestedOutput(name, binary_data=binary)
        for name in ("probabilities", "label", "labels")
    ]
    embedded = http.infer(EMBEDDING, [text_tensor(triton_http, TEXTS, binary=binary)])
    classified = http.infer(
        SENTIMENT, [text_tensor(triton_http, TEXTS, binary=binary)], outputs=outputs
    )

    reference_vectors = vectors(on_reference, TEXTS)
    assert min(cosines(embedded.as_numpy("embedding"), reference_vectors)) >= MIN_COSINE
    reference = on_reference.classify(model=SENTIMENT, input=TEXTS).results
    labels = [as_text(label) for label in classified.as_numpy("label").reshape(-1)]
    assert labels == [r.label for r in reference]
    names = [as_text(name) for name in classified.as_numpy("labels")[0]]
    probabilities = classified.as_numpy("probabilities")
    assert probabilities.shape == (len(TEXTS), 3)
    for row, result in zip(probabilities, reference, strict=True):
        assert dict(zip(names, row.tolist(), strict=True)) == pytest.approx(
            result.scores, abs=SCORE_TOLERANCE
        )


def test_tritonclient_grpc_reads_the_same_embeddings(
    triton: TritonServer, on_reference: maaskit.Client
) -> None:
    with triton_grpc.InferenceServerClient(triton.grpc_address) as client:
        assert client.is_model_ready(EMBEDDING)
        answer = client.infer(EMBEDDING, [text_tensor(triton_grpc, TEXTS)])

    assert min(cosines(answer.as_numpy("embedding"), vectors(on_reference, TEXTS))) >= MIN_COSINE


# -- Triton's dynamic batcher ------------------------------------------------------------------


def metric(triton: TritonServer, name: str, model: str) -> float:
    # By family: the parser names a counter's samples ``<family>_total``.
    for family in text_string_to_metric_families(triton.metrics_text()):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.labels.get("model") == model:
                return float(sample.value)
    raise AssertionError(f"Triton reports no {name} for {model}")


def test_concurrent_requests_run_as_one_batch(
    triton: TritonServer, on_reference: maaskit.Client
) -> None:
    # The model waits (up to a minute) for a batch of BATCH; the BATCH-th request releases it.
    executions = metric(triton, "nv_inference_exec_count", BATCHING_MODEL)
    requests = metric(triton, "nv_inference_request_success", BATCHING_MODEL)

    def classify(text: str) -> str:
        with triton.client(max_retries=0, timeout=120.0) as client:
            return client.classify(model=BATCHING_MODEL, input=[text]).results[0].label

    with ThreadPoolExecutor(BATCH) as pool:
        labels = list(pool.map(classify, TEXTS[:BATCH]))

    new_requests = metric(triton, "nv_inference_request_success", BATCHING_MODEL) - requests
    new_executions = metric(triton, "nv_inference_exec_count", BATCHING_MODEL) - executions
    assert new_requests == BATCH
    assert 1 <= new_executions < new_requests
    reference = on_reference.classify(model=SENTIMENT, input=TEXTS[:BATCH]).results
    assert labels == [r.label for r in reference]


# -- bad inputs: Triton's 4xx, and the server serves on ----------------------------------------


def test_a_text_over_the_limit_is_a_400_naming_it(on_triton: maaskit.Client) -> None:
    with pytest.raises(maaskit.BadRequestError, match=r"input\[1\] has \d+ tokens.*256"):
        on_triton.embed(model=EMBEDDING, input=["fine", TOO_LONG])


def test_wrong_tensors_are_tritons_400s(http: triton_http.InferenceServerClient) -> None:
    numbers = triton_http.InferInput("text", [1, 1], "FP32")
    numbers.set_data_from_numpy(np.zeros((1, 1), dtype=np.float32))
    unbatched = triton_http.InferInput("text", [2], "BYTES")
    unbatched.set_data_from_numpy(np.array([b"a", b"b"], dtype=np.object_))
    not_utf8 = triton_http.InferInput("text", [1, 1], "BYTES")
    not_utf8.set_data_from_numpy(np.array([[b"\xff\xfe"]], dtype=np.object_))
    cases = [
        (numbers, "expects 'BYTES'"),
        (unbatched, "unexpected shape"),
        (not_utf8, "element 0 is not UTF-8"),
        (text_tensor(triton_http, ["fine", ""]), "element 1 is empty"),
        (text_tensor(triton_http, ["x"], name="txt"), "unexpected inference input 'txt'"),
    ]
    for tensor, message in cases:
        with pytest.raises(InferenceServerException, match=re.escape(message)) as caught:
            http.infer(SENTIMENT, [tensor])
        assert caught.value.status() == "400", caught.value.message()


def test_a_bad_request_batched_with_good_ones_fails_alone(
    triton: TritonServer, on_reference: maaskit.Client
) -> None:
    # Fill the waiting batch with one bad request among good ones: only it gets the 400.
    texts = [TOO_LONG, *TEXTS[: BATCH - 1]]

    def classify(text: str) -> str:
        with triton.client(max_retries=0, timeout=120.0) as client:
            try:
                return client.classify(model=BATCHING_MODEL, input=[text]).results[0].label
            except maaskit.BadRequestError as exc:
                return f"400: {exc.status_code}"

    with ThreadPoolExecutor(BATCH) as pool:
        answers = list(pool.map(classify, texts))

    reference = on_reference.classify(model=SENTIMENT, input=TEXTS[: BATCH - 1]).results
    assert answers == ["400: 400", *[r.label for r in reference]]


def test_the_server_still_serves_after_the_bad_inputs(
    triton: TritonServer, on_triton: maaskit.Client, http: triton_http.InferenceServerClient
) -> None:
    with pytest.raises(maaskit.BadRequestError):
        on_triton.classify(model=SENTIMENT, input=[TOO_LONG])

    assert on_triton.classify(model=SENTIMENT, input=["I love it"]).results[0].label == "positive"
    assert http.is_server_ready()
    assert http.is_model_ready(SENTIMENT)
    assert triton.process.poll() is None
    assert "Stub process" not in triton.log_text()  # no model process died


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_sdk_infer_runs_the_ensemble_steps_on_numeric_tensors(
    triton: TritonServer, on_triton: maaskit.Client, binary: bool
) -> None:
    """``infer()`` on raw tensors: the ensemble's steps called one by one (BYTES in, then
    INT64 token ids and FP32 hidden states between them, each step's outputs the next one's
    inputs by name) give the embedding the whole ensemble gives."""
    model = ENSEMBLES[EMBEDDING]
    texts = np.array([[t.encode()] for t in TEXTS], dtype=np.object_)
    available: dict[str, object] = {"text": texts}
    kinds: set[str] = set()
    for step in STEPS:
        name = f"{model}_{step}"
        metadata = httpx.get(f"{triton.url}/v2/models/{name}", timeout=30).json()
        inputs = {tensor["name"]: available[tensor["name"]] for tensor in metadata["inputs"]}
        answer = on_triton.infer(
            model=name, inputs=inputs, binary_inputs=binary, binary_data=binary
        )
        assert answer.model_name == name
        kinds.update(output.datatype for output in answer.outputs)
        available.update({output: answer.as_numpy(output) for output in answer.names})
    assert {"INT64", "FP32"} <= kinds
    whole = on_triton.infer(model=model, inputs={"text": texts}, outputs=["embedding"])
    assert whole.names == ["embedding"]
    stepwise = np.asarray(available["embedding"], dtype=np.float64)
    assert stepwise.shape == (len(TEXTS), 384)
    assert min(cosines(stepwise, whole.as_numpy("embedding").astype(np.float64))) >= MIN_COSINE
