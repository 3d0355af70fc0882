"""The shipped PII recogniser (``models/pii-ner``): its quality on the held-out corpus through
the server's own runtime, and its use through a real reference server (Hugging Face and
OpenAI-style routes, ``huggingface_hub.InferenceClient``, the masker's ``EndpointDetector`` in
front of a model that echoes what it received).

The bar is the issue's: exact-span person recall >= 0.90 on the corpus' test split (held out by
sentence and by entity value, see the model card), with the Inference API's default
aggregation (``simple``). Precision, organisations and places get bars a little under what the
shipped build measured, so a worse rebuild fails here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import huggingface_hub
import maaskit
import pytest
from _support.server import MODELS_DIR, ServerProcess
from huggingface_hub import InferenceClient
from huggingface_hub.utils._http import reset_sessions  # not re-exported for type checkers
from maaskit.privacy import Detection, EndpointDetector, Masker, evaluate, load_corpus
from maaskit_server.model_spec import read_model_spec
from maaskit_server.runtimes import RuntimeContext
from maaskit_server.runtimes.token_classification import TokenClassificationRuntime

# The held-out split through the model takes 20-40 s on the shared 2 cores; the others start
# the session's reference server.
pytestmark = pytest.mark.slow

MODEL = "pii-ner"
KINDS = {"PER": "PERSON", "ORG": "ORG", "LOC": "LOCATION"}
# A sentence shape that is not one of the corpus templates, with a name, a company and a city.
SENTENCE = "Yesterday Margarethe Vogelsang from Siemens visited our office in Rotterdam."
PERSON, ORG, CITY = "Margarethe Vogelsang", "Siemens", "Rotterdam"
BARS = {  # kind: (minimum recall, minimum precision); the shipped build: see its model card
    "PERSON": (0.90, 0.95),  # measured 0.989 / 0.980
    "ORG": (0.93, 0.89),  # measured 0.953 / 0.917
    "LOCATION": (0.93, 0.91),  # measured 0.952 / 0.935
}


@pytest.fixture(scope="module")
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as pool:
        yield pool


@pytest.fixture
def hub_online(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # HF_HUB_OFFLINE=1 makes InferenceClient refuse even a loopback URL (see PEERS.md).
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    reset_sessions()
    yield
    reset_sessions()


async def test_shipped_recogniser_meets_the_recall_bar_on_the_held_out_split(
    executor: ThreadPoolExecutor,
) -> None:
    spec = read_model_spec(MODELS_DIR / MODEL)
    assert spec.task == "token-classification"
    runtime = TokenClassificationRuntime(spec, RuntimeContext(executor, intra_op_threads=2))
    # Sorted by length: batches of similar sentences pad less (the answers do not depend on
    # the batch: weight-only int8, see the model card).
    rows = sorted(load_corpus("test"), key=lambda row: len(row.text))
    try:
        found = await runtime.recognise([row.text for row in rows])
    finally:
        await runtime.close()
    by_text = {
        row.text: [
            Detection(entity["start"], entity["end"], KINDS[entity["entity_group"]])
            for entity in entities
        ]
        for row, entities in zip(rows, found.entities, strict=True)
    }
    report = evaluate(by_text.__getitem__, rows, kinds=tuple(BARS))
    for kind, (recall, precision) in BARS.items():
        score = report.scores[kind]
        assert score.labelled > 300, kind
        assert score.recall >= recall, report.table()
        assert score.precision >= precision, report.table()


def test_inference_client_finds_the_name_company_and_city(
    reference_server: ServerProcess, hub_online: None
) -> None:
    client = InferenceClient(
        base_url=f"{reference_server.base_url}/models/{MODEL}", api_key=reference_server.api_key
    )
    found = client.token_classification(SENTENCE)
    spans = {(e.entity_group, SENTENCE[e.start : e.end]) for e in found}
    assert spans == {("PER", PERSON), ("ORG", ORG), ("LOC", CITY)}
    assert all(0.0 < e.score <= 1.0 for e in found)


def test_openai_style_route_serves_the_shipped_model(reference_server: ServerProcess) -> None:
    with httpx.Client(headers=reference_server.headers, timeout=60) as http:
        response = http.post(
            f"{reference_server.v1}/token-classification",
            json={"model": MODEL, "input": [SENTENCE, "Nothing personal here."]},
        )
    assert response.status_code == 200
    body = response.json()
    first, second = body["data"]
    assert {(e["entity_group"], e["word"]) for e in first["entities"]} >= {("PER", PERSON)}
    assert second["entities"] == []


@pytest.mark.parametrize("strategy", ["simple", "max"])
def test_endpoint_detector_keeps_the_name_from_the_model_that_answers(
    reference_server: ServerProcess, strategy: str
) -> None:
    # The recogniser runs on the trusted side; the chat model (here an echo of the prompt)
    # must receive placeholders only, and the app gets the original text back.
    detector = EndpointDetector(
        f"{reference_server.base_url}/models/{MODEL}",
        api_key=reference_server.api_key,
        aggregation_strategy=strategy,
    )
    assert f"aggregation_strategy={strategy!r}" in repr(detector)
    masker = Masker(extra_detectors=[detector])
    text = f"{SENTENCE} Reply to margarethe@example.org."
    with maaskit.Client(
        base_url=reference_server.v1, api_key=reference_server.api_key, privacy=masker
    ) as client:
        result = client.complete(model="tiny-shakespeare", prompt=text, echo=True, max_tokens=1)
    detector.close()
    received = result.raw["choices"][0]["text"]
    for value in (PERSON, "Margarethe", "Vogelsang", "margarethe@example.org"):
        assert value not in received
    for placeholder in ("<PERSON_1>", "<EMAIL_1>"):
        assert placeholder in received
    assert result.text.startswith(text)


def test_endpoint_detector_refuses_an_unknown_strategy() -> None:
    with pytest.raises(ValueError, match="aggregation_strategy must be one of"):
        EndpointDetector("http://127.0.0.1:9/models/pii-ner", aggregation_strategy="none")
