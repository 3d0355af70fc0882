"""The benchmark harness runs end to end (``--quick``), so it never rots.

Only that figures were produced is checked here: speed is reported by the harness, never
asserted in tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]

    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["quick"] is True
    assert results["machine"]["logical_cores"] >= 1
    harnesses = ["encoder", "formats", "generation", "grammar", "sdk", "privacy"]
    assert list(results["load_average"]) == harnesses
    assert all(
        len(load["before"]) == len(load["after"]) == 3 for load in results["load_average"].values()
    )

    assert [entry["model"] for entry in results["encoder"]] == ["all-minilm-l6-v2", "sentiment"]
    for entry in results["encoder"]:
        for batch in ("1", "8", "32", "64"):
            assert entry["raw_onnxruntime"][batch]["sentences_per_second"] > 0
            assert entry["raw_onnxruntime"][batch]["two_sessions_side_by_side_per_second"] > 0
        for server in ("maaskit_server", "naive_server"):
            for concurrency in ("1", "8", "64"):
                point = entry[server][concurrency]
                assert point["count"] == entry["requests_per_point"]
                assert 0 < point["p50_ms"] <= point["p95_ms"] <= point["p99_ms"]
                assert point["client_cpu_ms_per_request"] > 0
        assert set(entry["ratios"]) == {
            "server_vs_ceiling_at_64",
            "server_vs_naive_at_64",
            "ceiling_vs_naive_at_64",
            "server_p50_minus_raw_batch1_ms",
            "load_generator_cpu_share_at_64",
            "mixed_server_at_64_vs_raw_padded_batch64",
            "mixed_server_at_64_vs_raw_sorted_batch64",
        }
        mixed = entry["mixed_5_to_240_words"]
        assert mixed["raw_onnxruntime"]["padded_batch64_per_second"] > 0
        assert mixed["raw_onnxruntime"]["sorted_batch64_per_second"] > 0
        assert mixed["maaskit_server_at_64"]["count"] == entry["requests_per_point"] // 2

    # The old format is read from git history: present in a clone, absent in an sdist.
    for entry in results["encoder_formats"]:
        for name in ("int8_matmulnbits", "fp16_stored"):
            for batch in ("1", "8", "64"):
                raw = entry[name]["raw_onnxruntime"][batch]
                assert raw["sentences_per_second"] > 0
                assert raw["one_thread_sentences_per_cpu_second"] > 0
            for clients in ("8", "64"):
                assert entry[name]["server_sentences_per_second"][clients]["per_second"] > 0
        assert entry["int8_matmulnbits"]["model_mb"] < entry["fp16_stored"]["model_mb"]

    figures = results["generation"]["figures"]
    assert figures["server, 8 concurrent stream(s) (tokens/s)"] > 0
    assert figures["raw onnxruntime loop, 8 rows in one batch (tokens/s)"] > 0
    assert figures["raw batch 8 / raw batch 1 (the most batching can gain here)"] > 0
    assert figures["server time to first token, p50 (ms)"] > 0

    grammar = results["grammar"]["figures"]
    assert grammar["engine, 8 sampled rows, each under a grammar (tokens/s)"] > 0
    assert grammar["llguidance mask + consume, JSON schema (us/token)"] > 0
    assert "constrained / free engine throughput" in grammar

    sdk = results["sdk"]["results"]
    sync_clients = {"raw_httpx", "maaskit_sync", "maaskit_router3", "openai_sync"}
    async_clients = {"raw_httpx_async", "maaskit_async", "maaskit_async_aiohttp", "openai_async"}
    burst_clients = {"maaskit_async_burst", "maaskit_async_aiohttp_burst"}
    for concurrency in ("1", "8", "64", "256"):
        sync = sync_clients if concurrency in ("1", "64") else set()
        burst = burst_clients if concurrency in ("64", "256") else set()
        assert set(sdk[concurrency]) == sync | async_clients | burst
        assert all(point["per_second"] > 0 for point in sdk[concurrency].values())

    markdown = (tmp_path / "latest.md").read_text()
    assert "server at 64 clients / raw batch-64 ceiling" in markdown
    assert "maaskit_sync / openai_sync at 64" in markdown
    assert "maaskit_router3 / maaskit_sync client CPU per call at 64" in markdown
    assert "maaskit_async calls per CPU-second, aiohttp / httpx transport at 256" in markdown
    assert "aiohttp / httpx transport at 256, burst start" in markdown
    assert "mixed 5-240-word inputs, 64 clients" in markdown
    assert "Constrained decoding (llguidance)" in markdown
    targets = markdown.split("### Targets (issue #19), from this run", 1)[1].split("###", 1)[0]
    assert targets.count("| ≥ ") + targets.count("| ≤ ") >= 10
    assert "not measured" not in targets
    for plot in (
        "encoder_all-minilm-l6-v2.png",
        "encoder_sentiment.png",
        "sdk_overhead.png",
        "generation.png",
    ):
        assert (tmp_path / plot).stat().st_size > 1000

    privacy = results["privacy"]
    assert privacy["ms_per_kb"]["pii: mask, all rule detectors"] > 0
    assert privacy["load_average"]["before"] >= 0
