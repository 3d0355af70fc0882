"""Turns ``results/latest.json`` into a markdown table and PNG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _encoder_lines(entry: dict[str, Any]) -> list[str]:
    raw, server, naive = entry["raw_onnxruntime"], entry["maaskit_server"], entry["naive_server"]
    lines = [
        f"### Encoder serving: `{entry['model']}` ({entry['task']}, "
        f"{entry['requests_per_point']} requests a point, median of {entry.get('cycles', 1)} "
        "interleaved cycles)",
        "",
        "| raw onnxruntime batch | sentences/s, one session on every core | batch p50 ms "
        "| sentences/s, two sessions side by side |",
        "|---:|---:|---:|---:|",
    ]
    for batch, figures in raw.items():
        side_by_side = figures.get("two_sessions_side_by_side_per_second")
        lines.append(
            f"| {batch} | {figures['sentences_per_second']:.0f} | {figures['batch_p50_ms']:.2f} "
            f"| {'' if side_by_side is None else f'{side_by_side:.0f}'} |"
        )
    lines += [
        "",
        "| concurrent clients | maaskit req/s | p50 / p95 / p99 ms | naive req/s "
        "| p50 / p95 / p99 ms |",
        "|---:|---:|---:|---:|---:|",
    ]
    for concurrency, ours in server.items():
        theirs = naive[concurrency]
        lines.append(
            f"| {concurrency} | {ours['per_second']:.0f} "
            f"| {ours['p50_ms']:.1f} / {ours['p95_ms']:.1f} / {ours['p99_ms']:.1f} "
            f"| {theirs['per_second']:.0f} "
            f"| {theirs['p50_ms']:.1f} / {theirs['p95_ms']:.1f} / {theirs['p99_ms']:.1f} |"
        )
    ratios = entry["ratios"]
    lines += [
        "",
        f"- server at 64 clients / raw batch-64 ceiling (the better layout): "
        f"**{ratios['server_vs_ceiling_at_64']}** (target ≥ 0.85)",
        f"- server / naive server at 64 clients: **{ratios['server_vs_naive_at_64']}** "
        "(target ≥ 3)",
    ]
    if "ceiling_vs_naive_at_64" in ratios:
        lines.append(
            f"  - ceiling / naive server at 64 clients: {ratios['ceiling_vs_naive_at_64']} "
            "(the most any server could reach on this machine and model)"
        )
    lines += [
        f"- server p50 at 1 client minus raw batch-1 p50: "
        f"**{ratios['server_p50_minus_raw_batch1_ms']} ms** (target ≤ 2 ms)",
        f"  - the naive server's, for comparison: "
        f"{naive['1']['p50_ms'] - raw['1']['batch_p50_ms']:.3f} ms (HTTP and the load "
        "generator's own client, with no batching at all)",
    ]
    mixed = entry.get("mixed_5_to_240_words")
    if mixed is not None:
        raw_mixed, served = mixed["raw_onnxruntime"], mixed["maaskit_server_at_64"]
        lines += [
            f"- mixed 5-240-word inputs, 64 clients: server {served['per_second']:.0f} "
            f"sentences/s; raw batch 64 padded to each batch's longest "
            f"{raw_mixed['padded_batch64_per_second']:.0f} (the ceiling row), sorted by length "
            f"{raw_mixed['sorted_batch64_per_second']:.0f}: server / padded ceiling "
            f"**{ratios['mixed_server_at_64_vs_raw_padded_batch64']}** (target ≥ 1.2), "
            f"server / sorted {ratios['mixed_server_at_64_vs_raw_sorted_batch64']}",
        ]
    if "load_generator_cpu_share_at_64" in ratios:
        lines.append(
            f"- the load generator's own share of the machine's CPU at 64 clients: "
            f"{ratios['load_generator_cpu_share_at_64']} (taken from the server under test)"
        )
    lines.append("")
    return lines


def _formats_lines(entry: dict[str, Any]) -> list[str]:
    lines = [
        f"### Encoder formats: `{entry['model']}` (old int8 `MatMulNBits` vs fp16-stored, "
        f"{entry['sentences_per_point']} sentences a point, median of {entry['cycles']} "
        "interleaved cycles)",
        "",
        "| format | MB | raw sentences/s batch 1 / 8 / 64 | one thread, per CPU-second "
        "1 / 8 / 64 | served at 8 / 64 clients |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("int8_matmulnbits", "fp16_stored"):
        f = entry[name]
        raw = f["raw_onnxruntime"]
        served = f["server_sentences_per_second"]
        lines.append(
            f"| {name} | {f['model_mb']} | "
            + " / ".join(f"{raw[b]['sentences_per_second']:.0f}" for b in raw)
            + " | "
            + " / ".join(f"{raw[b]['one_thread_sentences_per_cpu_second']:.0f}" for b in raw)
            + " | "
            + " / ".join(f"{served[c]['per_second']:.0f}" for c in served)
            + " |"
        )
    lines.append("")
    for key, value in entry["ratios"].items():
        lines.append(f"- {key}: **{value}**")
    lines.append("")
    return lines


def _sdk_lines(entry: dict[str, Any]) -> list[str]:
    lines = [
        f"### SDK overhead ({entry['route']}, {entry['requests_per_point']} requests a point, "
        f"median of {entry.get('cycles', 1)} interleaved cycles)",
        "",
        "| concurrency | client | req/s | client CPU ms/request |",
        "|---:|---|---:|---:|",
    ]
    for concurrency, clients in entry["results"].items():
        for name, figures in clients.items():
            lines.append(
                f"| {concurrency} | {name} | {figures['per_second']:.0f} "
                f"| {figures['cpu_ms_per_request']:.3f} |"
            )
    lines += [""]
    for key, value in entry.get("ratios", {}).items():
        lines.append(f"- {key}: **{value}**")
    lines.append("")
    return lines


def _generation_lines(entry: dict[str, Any]) -> list[str]:
    lines = [f"### Generation: `{entry.get('model', 'tiny-shakespeare')}`", ""]
    lines += ["| measurement | value |", "|---|---:|"]
    for key, value in entry.get("figures", {}).items():
        lines.append(f"| {key} | {value} |")
    lines.append("")
    return lines


def _grammar_lines(entry: dict[str, Any]) -> list[str]:
    lines = [f"### Constrained decoding (llguidance): `{entry.get('model', 'tiny-shakespeare')}`"]
    lines += ["", "| measurement | value |", "|---|---:|"]
    for key, value in entry.get("figures", {}).items():
        lines.append(f"| {key} | {value} |")
    lines.append("")
    return lines


def _figure(figures: dict[str, Any], prefix: str) -> float | None:
    """The first figure whose name starts with ``prefix`` (labels carry notes after it)."""
    for name, value in figures.items():
        if name.startswith(prefix) and isinstance(value, int | float):
            return float(value)
    return None


def _target_rows(results: dict[str, Any]) -> list[tuple[str, float | None, str, bool | None]]:
    """Issue #19's targets, each as (measurement, value, bound, met) from one run's results."""
    rows: list[tuple[str, float | None, str, bool | None]] = []

    def add(name: str, value: float | None, bound: float, *, at_most: bool = False) -> None:
        met = None if value is None else (value <= bound if at_most else value >= bound)
        rows.append((name, value, f"{'≤' if at_most else '≥'} {bound:g}", met))

    for entry in results.get("encoder_formats", []):
        for clients in (8, 64):
            add(
                f"{entry['model']}: served at {clients} clients, shipped format / old int8",
                entry["ratios"].get(f"served at {clients} clients (new / old)"),
                1.8,
            )
    for entry in results.get("encoder", []):
        add(
            f"{entry['model']}: mixed 5–240 words at 64 clients / raw padded batch-64 ceiling",
            entry.get("ratios", {}).get("mixed_server_at_64_vs_raw_padded_batch64"),
            1.2,
        )
    figures = results.get("generation", {}).get("figures", {})
    if figures:
        add(
            "generation: server 1 stream / raw loop",
            _figure(figures, "server 1 stream / raw"),
            0.85,
        )
        eight = _figure(figures, "server 8 streams / 1 stream")
        bound = _figure(figures, "raw batch 8 / raw batch 1")
        scaling = None if eight is None or not bound else round(eight / bound, 3)
        add("generation: (server 8 / 1 streams) / (raw batch 8 / batch 1)", scaling, 0.9)
    ratios = results.get("sdk", {}).get("ratios", {})
    for concurrency in ("64", "256"):
        add(
            f"AsyncClient calls per client-CPU-second at {concurrency} in flight, aiohttp / httpx",
            ratios.get(
                f"maaskit_async calls per CPU-second, aiohttp / httpx transport at {concurrency}"
            ),
            5,
        )
    for concurrency in ("64", "256"):
        add(
            f"the same from a burst start (own pools, 2,000 calls) at {concurrency} in flight",
            ratios.get(
                f"maaskit_async calls per CPU-second, aiohttp / httpx transport at {concurrency}, "
                "burst start"
            ),
            5,
        )
    add(
        "AsyncClient (aiohttp) CPU per call, 64 in flight / 1",
        ratios.get("maaskit_async_aiohttp CPU per call, 64 in flight / 1"),
        1.2,
        at_most=True,
    )
    instructions = results.get("sdk", {}).get("instructions_per_call", {})
    if "ratio" in instructions:
        add(
            "sync Client instructions per call / raw httpx (callgrind)",
            float(instructions["ratio"]),
            1.15,
            at_most=True,
        )
    return rows


def _targets_lines(results: dict[str, Any]) -> list[str]:
    rows = _target_rows(results)
    if not rows:
        return []
    lines = ["### Targets (issue #19), from this run", "", "| measurement | value | target | |"]
    lines.append("|---|---:|---:|---|")
    for name, value, bound, met in rows:
        shown = "not measured" if value is None else f"{value:g}"
        verdict = "" if met is None else ("met" if met else "**missed**")
        lines.append(f"| {name} | {shown} | {bound} | {verdict} |")
    lines.append("")
    return lines


def to_markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        "# maaskit benchmark results",
        "",
        f"Run {results['started_at']} ({'quick' if results['quick'] else 'full'} run) on "
        f"{machine['cpu_model']}, {machine['usable_cores']} usable cores, "
        f"{machine['memory_gib']} GiB, Python {machine['python']}.",
        "Versions: "
        + ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
        + ".",
    ]
    loads = results.get("load_average", {})
    if loads:
        lines.append(
            "Load average (1 min) before → after each harness: "
            + "; ".join(
                f"{name} {load['before'][0]} → {load['after'][0]} ({load['seconds']} s)"
                for name, load in loads.items()
            )
            + "."
        )
    lines.append("")
    lines += _targets_lines(results)
    for entry in results.get("encoder", []):
        lines += _encoder_lines(entry)
    for entry in results.get("encoder_formats", []):
        lines += _formats_lines(entry)
    if "generation" in results:
        lines += _generation_lines(results["generation"])
    if "grammar" in results:
        lines += _grammar_lines(results["grammar"])
    if "sdk" in results:
        lines += _sdk_lines(results["sdk"])
    if "privacy" in results:
        from benchmarks.privacy import markdown_lines

        lines += markdown_lines(results["privacy"])
    return "\n".join(lines)


def plot(results: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: list[Path] = []
    for entry in results.get("encoder", []):
        figure, axis = plt.subplots(figsize=(6, 4))
        levels = list(entry["maaskit_server"])
        xs = [int(level) for level in levels]
        axis.plot(
            xs,
            [entry["maaskit_server"][c]["per_second"] for c in levels],
            "o-",
            label="maaskit server",
        )
        axis.plot(
            xs, [entry["naive_server"][c]["per_second"] for c in levels], "s-", label="naive server"
        )
        raw64 = entry["raw_onnxruntime"]["64"]
        ceiling = max(
            raw64["sentences_per_second"], raw64.get("two_sessions_side_by_side_per_second", 0)
        )
        axis.axhline(ceiling, linestyle="--", color="grey", label="raw onnxruntime, batch 64")
        axis.set_xscale("log", base=2)
        axis.set_xlabel("concurrent single-text clients")
        axis.set_ylabel("requests / s")
        axis.set_title(f"{entry['model']}: throughput")
        axis.legend()
        figure.tight_layout()
        path = out_dir / f"encoder_{entry['model']}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    for entry in results.get("encoder_formats", []):
        figure, axis = plt.subplots(figsize=(6, 4))
        labels = [f"raw b{b}" for b in entry["fp16_stored"]["raw_onnxruntime"]] + [
            f"served {c}" for c in entry["fp16_stored"]["server_sentences_per_second"]
        ]
        for offset, name in enumerate(("int8_matmulnbits", "fp16_stored")):
            f = entry[name]
            values = [v["sentences_per_second"] for v in f["raw_onnxruntime"].values()] + [
                v["per_second"] for v in f["server_sentences_per_second"].values()
            ]
            axis.bar([i + offset * 0.4 for i in range(len(values))], values, 0.4, label=name)
        axis.set_xticks([i + 0.2 for i in range(len(labels))], labels)
        axis.set_ylabel("sentences / s")
        axis.set_title(f"{entry['model']}: storage formats")
        axis.legend()
        figure.tight_layout()
        path = out_dir / f"formats_{entry['model']}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    rates = {
        name.removesuffix(" (tokens/s)"): value
        for name, value in results.get("generation", {}).get("figures", {}).items()
        if name.endswith("(tokens/s)")
    }
    if rates:
        figure, axis = plt.subplots(figsize=(7, 4))
        axis.barh(list(rates), list(rates.values()))
        axis.invert_yaxis()
        axis.set_xlabel("tokens / s (all streams)")
        axis.set_title(f"generation: {results['generation'].get('model', 'tiny-shakespeare')}")
        figure.tight_layout()
        path = out_dir / "generation.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    if "sdk" in results:
        figure, axis = plt.subplots(figsize=(7, 4))
        points = results["sdk"]["results"]
        names = list(dict.fromkeys(name for clients in points.values() for name in clients))
        width = 0.8 / len(points)
        for offset, (concurrency, clients) in enumerate(points.items()):
            axis.bar(
                [i + offset * width for i in range(len(names))],
                [clients.get(name, {}).get("per_second", 0) for name in names],
                width,
                label=f"concurrency {concurrency}",
            )
        axis.set_xticks([i + width / 2 for i in range(len(names))], names, rotation=30)
        axis.set_yscale("log")
        axis.set_ylabel("requests / s")
        axis.set_title("SDK overhead: GET /v1/models")
        axis.legend()
        figure.tight_layout()
        path = out_dir / "sdk_overhead.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)
    return written
