"""Encoder serving: raw onnxruntime (the ceiling) vs the maaskit server vs a naive server."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks._encoder_model import PlainEncoder
from benchmarks._load import post_load
from benchmarks._process import free_port, running
from benchmarks._stats import median_of_cycles, summarise
from benchmarks._texts import mixed_lengths, sentences

BATCH_SIZES = (1, 8, 32, 64)
CONCURRENCY = (1, 8, 64)
ROUTES = {"embeddings": "/v1/embeddings", "classification": "/v1/classify"}


def ceiling(folder: Path, *, total: int) -> dict[str, Any]:
    """In-process onnxruntime throughput at each batch size, tokenization included.

    Two layouts, and the ceiling is the better one: one session using every core, and two
    sessions side by side, each on half of the cores, fed from two threads (the layout of the
    server's encoder lanes; on a small CPU it wastes less time synchronising threads).
    """
    whole = PlainEncoder(folder)
    halves = [PlainEncoder(folder, threads=max(1, _cores() // 2)) for _ in range(2)]
    texts = sentences(total)
    for encoder in (whole, *halves):
        encoder.run(texts[:8])  # warm-up: first run allocates and optimises
    results: dict[str, Any] = {}
    for batch_size in BATCH_SIZES:
        batches = [texts[start : start + batch_size] for start in range(0, total, batch_size)]
        latencies: list[float] = []
        started = time.perf_counter()
        for batch in batches:
            batch_started = time.perf_counter()
            whole.run(batch)
            latencies.append(time.perf_counter() - batch_started)
        wall = time.perf_counter() - started
        summary = summarise(latencies, wall)
        results[str(batch_size)] = {
            "sentences_per_second": round(total / wall, 2),
            "batch_p50_ms": round(summary.p50_ms, 3),
            "two_sessions_side_by_side_per_second": round(_side_by_side(halves, batches), 2),
        }
    return results


def _side_by_side(encoders: list[PlainEncoder], batches: list[list[str]]) -> float:
    def work(index: int) -> None:
        for batch in batches[index :: len(encoders)]:
            encoders[index].run(batch)

    started = time.perf_counter()
    with ThreadPoolExecutor(len(encoders)) as pool:
        list(pool.map(work, range(len(encoders))))
    return sum(len(batch) for batch in batches) / (time.perf_counter() - started)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def best_ceiling(raw: dict[str, Any], batch_size: int) -> float:
    figures = raw[str(batch_size)]
    return float(
        max(figures["sentences_per_second"], figures.get("two_sessions_side_by_side_per_second", 0))
    )


def _load_each_level(base: str, route: str, model: str, *, total: int) -> dict[str, Any]:
    texts = sentences(total + max(CONCURRENCY))
    results: dict[str, Any] = {}
    for concurrency in CONCURRENCY:
        summary = post_load(
            f"{base}{route}",
            lambda i: {"model": model, "input": texts[i % len(texts)]},
            concurrency=concurrency,
            total=total,
        )
        results[str(concurrency)] = summary.as_dict()
    return results


def mixed_ceiling(folder: Path, texts: list[str]) -> dict[str, float]:
    """Raw onnxruntime on the mixed-length texts in batches of 64: in arrival order, each batch
    padded to its longest (the padded ceiling), and sorted by length (what no padding costs)."""
    whole = PlainEncoder(folder)
    whole.run(texts[:8])
    found: dict[str, float] = {}
    for name, ordered in (("padded_batch64", texts), ("sorted_batch64", sorted(texts, key=len))):
        started = time.perf_counter()
        for start in range(0, len(ordered), 64):
            whole.run(ordered[start : start + 64])
        found[f"{name}_per_second"] = round(len(texts) / (time.perf_counter() - started), 2)
    return found


def _mixed_served(base: str, route: str, model: str, texts: list[str]) -> dict[str, Any]:
    summary = post_load(
        f"{base}{route}",
        lambda i: {"model": model, "input": texts[i % len(texts)]},
        concurrency=max(CONCURRENCY),
        total=len(texts),
    )
    return summary.as_dict()


def run(models_dir: Path, model: str, *, quick: bool) -> dict[str, Any]:
    """Ceiling, maaskit server and naive server, measured in turn ``cycles`` times.

    Every figure is the median over the cycles, so the ratios compare measurements taken under
    the same conditions: on a shared machine one window per row can land in a busy moment.
    """
    folder = models_dir / model
    task = PlainEncoder(folder).task
    route = ROUTES[task]
    total = 128 if quick else 512
    cycles = 1 if quick else 3
    ours_port, naive_port = free_port(), free_port()
    # Access logs off, as in the naive server (uvicorn at log level "warning").
    ours = ["-m", "maaskit_server", "--models", str(models_dir), "--port", str(ours_port),
            "--no-access-log"]  # fmt: skip
    naive_command = ["-m", "benchmarks.naive_server", str(folder), str(naive_port)]
    bases = {
        "maaskit": f"http://127.0.0.1:{ours_port}",
        "naive": f"http://127.0.0.1:{naive_port}",
    }
    samples: dict[str, list[dict[str, Any]]] = {key: [] for key in ("raw", *bases)}
    # Half as many: the padded ceiling runs at a few sentences per second here.
    mixed_texts = mixed_lengths(total // 2)
    mixed_samples: list[dict[str, Any]] = []
    # Every server stays up for every cycle; those not being measured sit idle.
    with (
        running(ours, f"{bases['maaskit']}/ready"),
        running(naive_command, f"{bases['naive']}/ready"),
    ):
        for _ in range(cycles):
            samples["raw"].append(ceiling(folder, total=total))
            for key, base in bases.items():
                samples[key].append(_load_each_level(base, route, model, total=total))
            mixed_samples.append(
                {
                    "raw_onnxruntime": mixed_ceiling(folder, mixed_texts),
                    "maaskit_server_at_64": _mixed_served(
                        bases["maaskit"], route, model, mixed_texts
                    ),
                }
            )
    raw, maaskit, naive = (median_of_cycles(samples[key]) for key in samples)
    mixed = median_of_cycles(mixed_samples)
    best = best_ceiling(raw, max(BATCH_SIZES))
    top = str(max(CONCURRENCY))
    raw_batch1_ms = raw["1"]["batch_p50_ms"]
    served = maaskit[top]
    return {
        "model": model,
        "task": task,
        "requests_per_point": total,
        "cycles": cycles,
        "raw_onnxruntime": raw,
        "maaskit_server": maaskit,
        "naive_server": naive,
        "mixed_5_to_240_words": mixed,
        "ratios": {
            # Target 1.2: token-budget batches beat padding every input to its batch's longest.
            "mixed_server_at_64_vs_raw_padded_batch64": round(
                mixed["maaskit_server_at_64"]["per_second"]
                / mixed["raw_onnxruntime"]["padded_batch64_per_second"],
                3,
            ),
            "mixed_server_at_64_vs_raw_sorted_batch64": round(
                mixed["maaskit_server_at_64"]["per_second"]
                / mixed["raw_onnxruntime"]["sorted_batch64_per_second"],
                3,
            ),
            "server_vs_ceiling_at_64": round(served["per_second"] / best, 3),
            "server_vs_naive_at_64": round(served["per_second"] / naive[top]["per_second"], 3),
            # No server can beat the ceiling, so this is the most server/naive could reach here.
            "ceiling_vs_naive_at_64": round(best / naive[top]["per_second"], 3),
            "server_p50_minus_raw_batch1_ms": round(maaskit["1"]["p50_ms"] - raw_batch1_ms, 3),
            # Share of the machine's CPU the load generator itself took while loading the server.
            "load_generator_cpu_share_at_64": round(
                served["client_cpu_ms_per_request"] * served["per_second"] / 1000 / _cores(), 3
            ),
        },
    }
