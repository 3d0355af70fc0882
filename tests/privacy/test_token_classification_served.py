"""The token-classification task served by a real reference server, on a model folder composed
here from the shipped encoder and a fixed head (``maaskit_server._build.pii_ner.compose``).

The head's weights are zero and its bias picks ``I-PER`` for every token, so each answer is
known exactly: the whole text is one ``PER`` entity (``simple``) or every token is an ``I-PER``
(``none``). That checks the protocol contract (routes, shapes, offsets, windowing, errors, the
official client, the masker's EndpointDetector) independently of how well a model recognises
names; the quality of a trained recogniser is a separate bar (see the pii-ner builder).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import httpx
import huggingface_hub
import numpy as np
import pytest
from _support.server import MODELS_DIR, ServerProcess, start_server, stop_server
from huggingface_hub import InferenceClient
from maaskit.privacy import EndpointDetector, Masker

pytest.importorskip("onnx")
pytestmark = [pytest.mark.e2e, pytest.mark.conformance]
MODEL = "toy-ner"
TEXT = "Anna Schmidt wrote to Marco."


@pytest.fixture(autouse=True)
def hub_online(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # HF_HUB_OFFLINE=1 makes InferenceClient refuse even a loopback URL (see PEERS.md).
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    huggingface_hub.utils.reset_sessions()
    yield
    huggingface_hub.utils.reset_sessions()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    from maaskit_server._build.pii_ner import LABELS, compose

    encoder = MODELS_DIR / "all-minilm-l6-v2"
    root = tmp_path_factory.mktemp("ner-models")
    folder = root / MODEL
    folder.mkdir()
    bias = np.full(len(LABELS), -5.0, np.float32)
    bias[LABELS.index("I-PER")] = 5.0
    compose(
        encoder / "model.onnx",
        np.zeros((384, len(LABELS)), np.float32),
        bias,
        folder / "model.onnx",
    )
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copyfile(encoder / name, folder / name)
    config = json.loads((encoder / "config.json").read_text())
    config["architectures"] = ["BertForTokenClassification"]  # the task is inferred from this
    config["id2label"] = {str(i): label for i, label in enumerate(LABELS)}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "maaskit.json").write_text(json.dumps({"max_input_tokens": 64}))
    process = start_server(
        root / "server.log", api_key="ner-test-key", extra_args=["--models", str(root)]
    )
    yield process
    stop_server(process)


def _client(server: ServerProcess) -> InferenceClient:
    return InferenceClient(base_url=f"{server.base_url}/models/{MODEL}", api_key=server.api_key)


def test_inference_client_aggregated_and_per_token(server: ServerProcess) -> None:
    found = _client(server).token_classification(TEXT)
    assert [(e.entity_group, e.word, e.start, e.end) for e in found] == [
        ("PER", TEXT, 0, len(TEXT))
    ]
    assert 0.99 < found[0].score <= 1.0
    tokens = _client(server).token_classification(TEXT, aggregation_strategy="none")
    assert all(e.entity == "I-PER" for e in tokens)
    assert [e.word for e in tokens][:3] == ["Anna", "Schmidt", "wrote"]
    for entity in tokens:
        assert TEXT[entity.start : entity.end] == entity.word


def test_batches_strategies_and_windows(server: ServerProcess) -> None:
    url = f"{server.base_url}/models/{MODEL}"
    long_text = " ".join(["word"] * 300)  # 300 tokens: five windows of this 64-token model
    with httpx.Client(headers=server.headers, timeout=60) as http:
        batch = http.post(url, json={"inputs": [TEXT, long_text]}).json()
        assert len(batch) == 2
        assert batch[1] == [
            {"entity_group": "PER", "score": batch[1][0]["score"], "word": long_text,
             "start": 0, "end": len(long_text)}
        ]  # fmt: skip
        for strategy in ("first", "average", "max"):
            body = {"inputs": TEXT, "parameters": {"aggregation_strategy": strategy}}
            (entity,) = http.post(url, json=body).json()
            assert entity["start"] == 0
            assert entity["end"] == len(TEXT)
        ignored = {"inputs": TEXT, "parameters": {"ignore_labels": ["O", "I-PER"]}}
        assert http.post(url, json=ignored).json() == []
        for bad in ({"aggregation_strategy": "bogus"}, {"ignore_labels": "O"}, {"stride": -1}):
            response = http.post(url, json={"inputs": TEXT, "parameters": bad})
            assert response.status_code == 422
            assert response.json()["error_type"] == "validation"


def test_openai_style_route(server: ServerProcess) -> None:
    with httpx.Client(headers=server.headers, timeout=60) as http:
        response = http.post(
            f"{server.v1}/token-classification", json={"model": MODEL, "input": [TEXT, "x"]}
        )
        assert response.status_code == 200
        body = response.json()
        assert body["object"] == "list"
        assert body["model"] == MODEL
        assert [item["index"] for item in body["data"]] == [0, 1]
        assert body["data"][1]["entities"][0]["word"] == "x"
        assert body["usage"]["prompt_tokens"] > 0
        missing = http.post(f"{server.v1}/token-classification", json={"model": MODEL})
        assert missing.status_code == 400
        assert missing.json()["error"]["param"] == "input"
        kserve = http.post(
            f"{server.base_url}/v2/models/{MODEL}/infer",
            json={"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["x"]}]},
        )
        assert kserve.status_code == 400


def test_endpoint_detector_masks_through_the_server(server: ServerProcess) -> None:
    detector = EndpointDetector(f"{server.base_url}/models/{MODEL}", api_key=server.api_key)
    assert server.api_key not in repr(detector)
    session = Masker(detectors=[detector]).session()
    masked = session.mask(TEXT)
    assert masked == "<PERSON_1>"
    assert session.restore(masked) == TEXT
    detector.close()


async def test_endpoint_detector_async(server: ServerProcess) -> None:
    detector = EndpointDetector(f"{server.base_url}/models/{MODEL}", api_key=server.api_key)
    session = Masker(detectors=[detector]).session()
    assert await session.amask(TEXT) == "<PERSON_1>"
    await detector.aclose()


def test_endpoint_detector_fails_closed(server: ServerProcess) -> None:
    detector = EndpointDetector(f"{server.base_url}/models/{MODEL}", api_key="wrong")
    from maaskit.privacy import DetectorError

    with pytest.raises(DetectorError) as caught:
        Masker(detectors=[detector]).session().mask(TEXT)
    assert TEXT not in str(caught.value)
    detector.close()
