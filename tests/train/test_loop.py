"""The whole loop on the shipped data: train (``head``) → evaluate → the model card's numbers
equal a recomputation through the served model → ``maaskit serve`` on the output → the SDK and
the official ``openai`` client classify through it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import numpy as np
import openai
import pytest
from maaskit.testing._server import MaaSKitServer, start_server
from maaskit_server.training import TrainingResult, prepare_data
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from .conftest import DATA, MODEL_NAME, SEED

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(
    trained: TrainingResult, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MaaSKitServer]:
    """``maaskit serve --models`` on the folder the training wrote, untouched."""
    log = tmp_path_factory.mktemp("train-server") / "server.log"
    server = start_server(log, models_dir=trained.path.parent)
    try:
        yield server
    finally:
        server.stop()


def _card_numbers(card: str) -> dict[str, object]:
    """The evaluation figures as the model card prints them."""
    table = dict(re.findall(r"^\| (accuracy|macro-F1|examples) \| ([0-9.]+) \|$", card, re.M))
    per_class_block = card.split("| label | precision |", 1)[1].split("\n\n", 1)[0]
    per_class = {}
    for line in per_class_block.splitlines()[2:]:
        label, precision, recall, f1, support = line.strip("| ").split(" | ")
        per_class[label] = (float(precision), float(recall), float(f1), int(support))
    confusion_block = card.split("| true \\ predicted |", 1)[1].split("\n\n", 1)[0]
    confusion = [
        [int(v) for v in line.strip("| ").split(" | ")[1:]]
        for line in confusion_block.splitlines()[2:]
    ]
    return {"table": table, "per_class": per_class, "confusion": confusion}


def test_the_folder_is_a_complete_model_folder(trained: TrainingResult) -> None:
    folder = trained.path
    for name in ("model.onnx", "tokenizer.json", "config.json", "maaskit.json", "README.md"):
        assert (folder / name).is_file(), name
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert config["id2label"] == {"0": "account", "1": "billing", "2": "shipping", "3": "technical"}
    options = json.loads((folder / "maaskit.json").read_text(encoding="utf-8"))
    assert options["task"] == "classification"
    card = (folder / "README.md").read_text(encoding="utf-8")
    for fact in (trained.data.raw.sha256, f"seed {SEED}", "`head`", "all-minilm-l6-v2", "401"):
        assert fact in card
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def test_the_card_equals_a_recomputation_through_the_server(
    trained: TrainingResult, served: MaaSKitServer
) -> None:
    prepared = prepare_data(DATA, seed=SEED)  # the split again, from the data alone
    texts = prepared.texts(prepared.split.test)
    truth = prepared.label_ids(prepared.split.test)
    labels = list(prepared.dataset.labels)
    with served.client() as client:
        results = client.classify(model=MODEL_NAME, input=texts).results
    predicted = [labels.index(result.label) for result in results]
    card = _card_numbers((trained.path / "README.md").read_text(encoding="utf-8"))

    assert card["table"] == {
        "accuracy": f"{accuracy_score(truth, predicted):.4f}",
        "macro-F1": f"{np.mean(precision_recall_fscore_support(truth, predicted)[2]):.4f}",
        "examples": str(len(texts)),
    }
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted)
    assert card["per_class"] == {
        label: (
            round(float(precision[i]), 4),
            round(float(recall[i]), 4),
            round(float(f1[i]), 4),
            int(support[i]),
        )
        for i, label in enumerate(labels)
    }
    assert card["confusion"] == confusion_matrix(truth, predicted).tolist()
    # The shipped set is not trivially separable: the card has errors to show.
    assert 0.7 < accuracy_score(truth, predicted) < 1.0
    assert trained.metrics.accuracy == accuracy_score(truth, predicted)


def test_sdk_and_official_openai_client_agree_with_the_graph(
    trained: TrainingResult, served: MaaSKitServer
) -> None:
    texts = [
        "I was charged twice for my Pro plan this month.",
        "My package has not arrived after ten days.",
        "The desktop client crashes every time I open the dashboard.",
        "Please reset the password for my account.",
    ]
    assert MODEL_NAME in served.models()
    with served.client() as client:
        sdk = client.classify(model=MODEL_NAME, input=texts).results
    assert [r.label for r in sdk] == ["billing", "shipping", "technical", "account"]

    # openai has no classify method: its generic `post` sends the vLLM-style request.
    official = openai.OpenAI(base_url=served.openai_url, api_key=served.api_key, max_retries=0)
    body = official.post("/classify", cast_to=object, body={"model": MODEL_NAME, "input": texts})
    assert isinstance(body, dict)
    assert [row["label"] for row in body["data"]] == [r.label for r in sdk]

    # Both equal the composed graph's own softmax output, run here without the server.
    from maaskit_server.training.runner import GraphRunner

    runner = GraphRunner(
        trained.path / "model.onnx", trained.path / "tokenizer.json", max_tokens=256
    )
    probabilities = runner.run(texts, "probabilities")
    served_probs = np.array([row["probs"] for row in body["data"]])
    np.testing.assert_allclose(served_probs, probabilities, atol=1e-5)
    for result, row in zip(sdk, probabilities, strict=True):
        assert result.score == pytest.approx(float(row.max()), abs=1e-5)


def test_maaskit_eval_reports_the_cards_accuracy(
    trained: TrainingResult, served: MaaSKitServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import maaskit

    prepared = prepare_data(DATA, seed=SEED)
    texts = prepared.texts(prepared.split.test)
    labels = list(prepared.dataset.labels)
    truth = [labels[i] for i in prepared.label_ids(prepared.split.test)]
    held_out = tmp_path_factory.mktemp("eval") / "held-out.jsonl"
    held_out.write_text(
        "".join(
            json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(texts, truth, strict=True)
        ),
        encoding="utf-8",
    )
    endpoint = maaskit.Endpoint(
        name="trained", provider="openai", base_url=served.openai_url, api_key=served.api_key
    )

    report = maaskit.evaluate([endpoint], task="classify", data=held_out, model=MODEL_NAME)

    (result,) = report.endpoints
    assert result.answered == len(texts)
    assert result.metrics["accuracy"] == pytest.approx(trained.metrics.accuracy, abs=1e-12)
