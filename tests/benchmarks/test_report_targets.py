"""The report's target table: each of issue #19's rows judged against its bound."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

# ``benchmarks`` is this test folder's package name here, so the harness's report module is
# loaded from its file.
_REPORT = Path(__file__).resolve().parents[2] / "benchmarks" / "report.py"
_spec = importlib.util.spec_from_file_location("maaskit_benchmarks_report", _REPORT)
assert _spec is not None
assert _spec.loader is not None
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)
_target_rows = report._target_rows
_targets_lines = report._targets_lines


def _results() -> dict[str, Any]:
    return {
        "encoder_formats": [
            {
                "model": "m",
                "ratios": {
                    "served at 8 clients (new / old)": 1.9,
                    "served at 64 clients (new / old)": 1.0,
                },
            }
        ],
        "encoder": [{"model": "m", "ratios": {"mixed_server_at_64_vs_raw_padded_batch64": 1.2}}],
        "generation": {
            "figures": {
                "server 1 stream / raw loop": 0.9,
                "server 8 streams / 1 stream (note)": 3.0,
                "raw batch 8 / raw batch 1 (the most batching can gain here)": 4.0,
            }
        },
        "sdk": {
            "ratios": {
                "maaskit_async calls per CPU-second, aiohttp / httpx transport at 64": 5.5,
                "maaskit_async calls per CPU-second, aiohttp / httpx transport at 64, "
                "burst start": 4.9,
                "maaskit_async_aiohttp CPU per call, 64 in flight / 1": 1.3,
            },
            "instructions_per_call": {
                "raw_httpx": 1_740_000,
                "maaskit_sync": 1_876_000,
                "ratio": 1.078,
            },
        },
    }


def test_each_target_is_judged_against_its_bound() -> None:
    rows = {name: (value, bound, met) for name, value, bound, met in _target_rows(_results())}
    assert rows["m: served at 8 clients, shipped format / old int8"] == (1.9, "≥ 1.8", True)
    assert rows["m: served at 64 clients, shipped format / old int8"] == (1.0, "≥ 1.8", False)
    # A value on the bound meets it.
    assert rows["m: mixed 5–240 words at 64 clients / raw padded batch-64 ceiling"][2] is True
    assert rows["generation: server 1 stream / raw loop"] == (0.9, "≥ 0.85", True)
    assert rows["generation: (server 8 / 1 streams) / (raw batch 8 / batch 1)"] == (
        0.75,
        "≥ 0.9",
        False,
    )
    at_64 = "AsyncClient calls per client-CPU-second at 64 in flight, aiohttp / httpx"
    assert rows[at_64] == (5.5, "≥ 5", True)
    burst = "the same from a burst start (own pools, 2,000 calls) at 64 in flight"
    assert rows[burst] == (4.9, "≥ 5", False)
    # Upper bounds: at most.
    assert rows["AsyncClient (aiohttp) CPU per call, 64 in flight / 1"] == (1.3, "≤ 1.2", False)
    sync = "sync Client instructions per call / raw httpx (callgrind)"
    assert rows[sync] == (1.078, "≤ 1.15", True)
    # A row the run did not measure is said so, never judged.
    at_256 = "AsyncClient calls per client-CPU-second at 256 in flight, aiohttp / httpx"
    assert rows[at_256] == (None, "≥ 5", None)


def test_the_table_says_missed_and_not_measured() -> None:
    table = "\n".join(_targets_lines(_results()))
    assert "| 1 | ≥ 1.8 | **missed** |" in table
    assert "| 1.9 | ≥ 1.8 | met |" in table
    assert "| not measured | ≥ 5 |  |" in table
