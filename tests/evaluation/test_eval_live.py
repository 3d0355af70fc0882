"""``maaskit eval`` end to end: two genuinely different classifiers on one real server, one
endpoint that fails every call, the report, the plot, and routing on the measurement."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import maaskit
import pytest
from click.testing import CliRunner
from maaskit.eval import EvalReport, dataset_path, evaluate, evaluate_async, load_dataset
from maaskit.eval._cli import eval_command
from maaskit.testing._server import MaaSKitServer

from .conftest import write_config

pytestmark = pytest.mark.e2e

LABELS = ["negative", "neutral", "positive"]


@pytest.fixture(scope="module")
def config(eval_server: MaaSKitServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVAL_TEST_API_KEY", eval_server.api_key)
        yield write_config(tmp_path_factory.mktemp("eval") / "endpoints.toml", eval_server)


@pytest.fixture(scope="module")
def cli_run(config: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("eval-out")
    args = ["--task", "classify", "--data", "sentiment", "--config", str(config)]
    # Ten tweets a request: the suite's time goes to 30 calls per endpoint, not 300.
    args += ["--model", "sentiment", "--concurrency", "4", "--batch-size", "10"]
    args += ["--min-quality", "0.6", "--no-progress"]
    args += ["--json", str(out / "report.json"), "--plot", str(out / "plot.png")]
    result = CliRunner().invoke(eval_command, args, catch_exceptions=False)
    return {"result": result, "out": out}


def test_cli_ranks_the_finetuned_model_first(cli_run: dict[str, Any]) -> None:
    result = cli_run["result"]
    assert result.exit_code == 0, result.output
    report = json.loads((cli_run["out"] / "report.json").read_text(encoding="utf-8"))
    by_name = {entry["name"]: entry for entry in report["endpoints"]}
    finetuned, zero_shot = by_name["finetuned"], by_name["zero-shot"]
    assert finetuned["answered"] == zero_shot["answered"] == 300
    assert finetuned["error_rate"] == zero_shot["error_rate"] == 0.0
    # The fine-tuned model's card reports macro-F1 0.80 on the whole test split; the zero-shot
    # prototypes know nothing of tweets.
    assert finetuned["quality"] > 0.7
    assert zero_shot["quality"] < finetuned["quality"] - 0.15
    assert finetuned["metrics"]["accuracy"] > zero_shot["metrics"]["accuracy"]
    # The printed table: best first, the failing endpoint shown with its error rate.
    lines = result.output.splitlines()
    row = {name: next(i for i, line in enumerate(lines) if f" {name} " in line) for name in by_name}
    assert row["finetuned"] < row["zero-shot"] < row["wrong-key"]
    assert "100% auth" in lines[row["wrong-key"]]


def test_a_failing_endpoint_is_reported_not_fatal(cli_run: dict[str, Any]) -> None:
    report = json.loads((cli_run["out"] / "report.json").read_text(encoding="utf-8"))
    dead = next(e for e in report["endpoints"] if e["name"] == "wrong-key")
    assert dead["quality"] is None
    assert dead["error_rate"] == 1.0
    assert dead["failures"] == {"auth": dead["calls"]}
    # Stopped once its first ten calls had all failed (the other workers' calls in flight
    # then still finish): the 30 calls of ten tweets were not all sent.
    assert 10 <= dead["calls"] < 10 + 4
    assert dead["skipped"] == 30 - dead["calls"]
    assert "AuthenticationError" in dead["errors"]["auth"]
    assert "not-a-key" not in json.dumps(report)  # the key never reaches the report


def test_report_schema_costs_and_recommendations(cli_run: dict[str, Any]) -> None:
    report = json.loads((cli_run["out"] / "report.json").read_text(encoding="utf-8"))
    # What router.load_eval reads, and the rest of the schema.
    assert report["task"] == "classify"
    assert report["model"] == "sentiment"
    assert report["quality_metric"] == "macro_f1"
    assert report["items"] == 300
    assert isinstance(report["endpoints"], list)
    keys = {
        "name", "provider", "quality", "metrics", "items", "inputs", "answered", "skipped",
        "calls", "failures", "error_rate", "errors", "latency_p50_ms", "latency_p95_ms",
        "latency_mean_ms", "throughput_per_s", "wall_s", "prompt_tokens_per_1k",
        "completion_tokens_per_1k", "cost_per_1k", "price",
    }  # fmt: skip
    for entry in report["endpoints"]:
        assert set(entry) == keys
    finetuned, zero_shot = report["endpoints"][0], report["endpoints"][1]
    # Cost comes from the clients' ledgers: the fine-tuned endpoint's input tokens × $/1M …
    assert finetuned["prompt_tokens_per_1k"] > 1000  # tweets are more than one token each
    assert finetuned["cost_per_1k"] == pytest.approx(finetuned["prompt_tokens_per_1k"] * 2.0 / 1e6)
    # … and the zero-shot endpoint's 30 requests × $0.000001 for 300 tweets.
    assert zero_shot["prompt_tokens_per_1k"] == 0  # KServe v2 reports no tokens
    assert zero_shot["cost_per_1k"] == pytest.approx(30 * 0.000001 * 1000 / 300)
    for entry in (finetuned, zero_shot):
        assert entry["calls"] == 30
        assert entry["latency_p50_ms"] <= entry["latency_p95_ms"]
        assert entry["throughput_per_s"] > 0
        confusion = entry["metrics"]["confusion"]
        assert entry["metrics"]["labels"] == LABELS
        assert sum(map(sum, confusion)) == 300
        assert [sum(row) for row in confusion] == [100, 100, 100]
    picks = {r["rule"]: r["endpoint"] for r in report["recommendations"]}
    assert picks["best_quality"] == "finetuned"
    assert picks["cheapest"] == "zero-shot"  # wrong-key is cheaper but answered nothing
    assert picks["best_value"] == "finetuned"  # the only one with quality ≥ 0.6
    assert picks["fastest"] in {"finetuned", "zero-shot"}


def test_plot_is_a_png(cli_run: dict[str, Any]) -> None:
    import matplotlib.image

    path = cli_run["out"] / "plot.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(str(path)).shape
    assert (width, height) == (1100, 450)


def test_metrics_match_a_hand_computation(eval_server: MaaSKitServer, config: Path) -> None:
    settings = maaskit.load_config(config)
    zero_shot = next(e for e in settings.endpoints if e.name == "zero-shot")
    report = evaluate(
        [zero_shot], task="classify", data=dataset_path("sentiment"), model="sentiment", limit=12
    )
    items = load_dataset(dataset_path("sentiment"), task="classify").items[:12]
    texts = [item.text for item in items]  # type: ignore[union-attr]
    truth = [item.label for item in items]  # type: ignore[union-attr]
    with eval_server.client("kserve") as client:
        guess = [r.label for r in client.classify(model="sentiment-zero-shot", input=texts).results]
    correct = sum(t == g for t, g in zip(truth, guess, strict=True))
    f1s = []
    for label in LABELS:
        tp = sum(t == g == label for t, g in zip(truth, guess, strict=True))
        predicted, actual = guess.count(label), truth.count(label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if tp else 0.0)
    entry = report.endpoints[0]
    assert entry.answered == 12
    assert entry.metrics["accuracy"] == pytest.approx(correct / 12)
    assert entry.quality == pytest.approx(sum(f1s) / 3)
    assert entry.metrics["confusion"] == [
        [sum(t == a and g == b for t, g in zip(truth, guess, strict=True)) for b in LABELS]
        for a in LABELS
    ]


def test_best_value_routes_on_the_loaded_report(
    cli_run: dict[str, Any], eval_server: MaaSKitServer, config: Path
) -> None:
    settings = maaskit.load_config(config)
    endpoints = [e for e in settings.endpoints if e.name != "wrong-key"]
    report_path = cli_run["out"] / "report.json"
    served = {}
    for floor in (0.6, 0.2):
        with maaskit.Client(
            endpoints=endpoints, routing="best_value", min_quality=floor, max_retries=0
        ) as client:
            loaded = client.router.load_eval(report_path)
            assert set(loaded) == {"finetuned", "zero-shot"}
            client.classify(model="sentiment", input=["What a lovely day"])
            used = [e.endpoint for e in client.usage().entries if e.successes]
            served[floor] = used
    # Only the fine-tuned model reaches 0.6; at 0.2 both do and the cheaper one wins.
    assert served == {0.6: ["finetuned"], 0.2: ["zero-shot"]}


def test_embeddings_retrieval_and_sts_async(config: Path) -> None:
    settings = maaskit.load_config(config)
    finetuned = next(e for e in settings.endpoints if e.name == "finetuned")
    model = "all-minilm-l6-v2"

    async def both() -> tuple[EvalReport, EvalReport]:
        retrieval = await evaluate_async(
            [finetuned], task="embed", data=dataset_path("retrieval"), model=model, batch_size=16
        )
        sts = await evaluate_async(
            [finetuned], task="embed", data=dataset_path("sts"), model=model, batch_size=16
        )
        return retrieval, sts

    retrieval, sts = asyncio.run(both())
    entry = retrieval.endpoints[0]
    scores = entry.metrics["retrieval"]
    assert retrieval.quality_metric == "mrr"
    assert (scores["queries"], scores["documents"]) == (40, 40)
    assert entry.answered == entry.inputs == 80  # 40 queries and 40 documents, 5 requests
    assert entry.calls == 5
    # MiniLM finds most documents first; the queries share few words with them.
    assert scores["recall_at_1"] > 0.8
    assert scores["recall_at_1"] <= scores["recall_at_5"]
    assert entry.quality == pytest.approx(scores["mrr"])
    pair = sts.endpoints[0]
    assert sts.quality_metric == "spearman"
    assert pair.metrics["sts"]["pairs"] == 30
    assert pair.metrics["sts"]["spearman"] > 0.7
    assert pair.quality == pytest.approx(pair.metrics["sts"]["spearman"])


def test_completion_with_a_user_scorer(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "eval_scorer_live.py").write_text(
        "CALLS = []\n"
        "def first_word(prediction, reference):\n"
        "    CALLS.append((prediction, reference))\n"
        "    words = prediction.replace(',', ' ').split()\n"
        "    return float(bool(words) and words[0].lower() == reference.lower())\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    settings = maaskit.load_config(config)
    finetuned = next(e for e in settings.endpoints if e.name == "finetuned")
    report = evaluate(
        [finetuned],
        task="complete",
        data=dataset_path("completion"),
        model="tiny-shakespeare",
        scorer="eval_scorer_live:first_word",
        params={"max_tokens": 4},
        limit=5,
    )
    import eval_scorer_live  # type: ignore[import-not-found]

    references = [reference for _, reference in eval_scorer_live.CALLS]
    assert references == ["question", "discontent", "stage", "ears", "horse"]
    predictions = [prediction for prediction, _ in eval_scorer_live.CALLS]
    expected = sum(
        eval_scorer_live.first_word(p, r) for p, r in zip(predictions, references, strict=True)
    )
    entry = report.endpoints[0]
    assert entry.metrics["scored"] == 5
    assert entry.quality == pytest.approx(expected / 5)
    assert entry.completion_tokens_per_1k == pytest.approx(4000)  # 4 tokens each, no EOS
