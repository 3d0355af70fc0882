"""``python -m benchmarks run [--quick]``: every harness in one run, results side by side."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import click

from benchmarks import encoder, report, sdk_overhead
from benchmarks._machine import describe_machine
from benchmarks._process import free_port, running

DEFAULT_MODELS = Path(__file__).resolve().parent.parent / "reference_server/maaskit_server/models"
RESULTS = Path(__file__).resolve().parent / "results"
ENCODER_MODELS = ("all-minilm-l6-v2", "sentiment")


def _sdk(models_dir: Path, *, quick: bool) -> dict[str, Any]:
    port = free_port()
    command = [
        "-m", "maaskit_server", "--models", str(models_dir), "--port", str(port),
        "--api-key", sdk_overhead.API_KEY,
    ]  # fmt: skip
    with running(command, f"http://127.0.0.1:{port}/ready"):
        found = sdk_overhead.run(f"http://127.0.0.1:{port}/v1", quick=quick)
    ratios: dict[str, float] = {}
    results = found["results"]
    for concurrency, clients in results.items():

        def ratio(
            a: str, b: str, key: str = "per_second", clients: dict[str, Any] = clients
        ) -> float | None:
            if a not in clients or b not in clients:
                return None
            return round(float(clients[a][key]) / float(clients[b][key]), 3)

        pairs = {
            f"maaskit_sync / openai_sync at {concurrency}": ratio("maaskit_sync", "openai_sync"),
            f"maaskit_async / openai_async at {concurrency}": ratio(
                "maaskit_async", "openai_async"
            ),
            f"maaskit_sync / raw_httpx at {concurrency}": ratio("maaskit_sync", "raw_httpx"),
            f"maaskit_async / raw_httpx_async at {concurrency}": ratio(
                "maaskit_async", "raw_httpx_async"
            ),
            # Target: a router's client CPU per call within 10 % of a one-endpoint client's.
            f"maaskit_router3 / maaskit_sync client CPU per call at {concurrency}": ratio(
                "maaskit_router3", "maaskit_sync", "cpu_ms_per_request"
            ),
            # Target >= 5 at 64 and 256: calls per client-CPU-second, aiohttp over httpx's pool.
            f"maaskit_async calls per CPU-second, aiohttp / httpx transport at {concurrency}": (
                ratio("maaskit_async", "maaskit_async_aiohttp", "cpu_ms_per_request")
            ),
            # The same from a burst start, each client with its own pools (as issue #19
            # measured httpx's pool).
            f"maaskit_async calls per CPU-second, aiohttp / httpx transport at {concurrency}, "
            "burst start": ratio(
                "maaskit_async_burst", "maaskit_async_aiohttp_burst", "cpu_ms_per_request"
            ),
        }
        ratios.update({key: value for key, value in pairs.items() if value is not None})
    for name in ("maaskit_async", "maaskit_async_aiohttp"):
        # Target <= 1.2: CPU per call at 64 in flight over CPU per call at 1.
        if "64" in results and "1" in results and name in results["64"]:
            ratios[f"{name} CPU per call, 64 in flight / 1"] = round(
                results["64"][name]["cpu_ms_per_request"]
                / results["1"][name]["cpu_ms_per_request"],
                2,
            )
    found["ratios"] = ratios
    return found


@click.group()
def cli() -> None:
    """maaskit benchmarks."""


@cli.command()
@click.option("--quick", is_flag=True, help="Small request counts: finishes in about two minutes.")
@click.option(
    "--only",
    type=click.Choice(["encoder", "formats", "generation", "grammar", "sdk", "privacy"]),
    multiple=True,
    help="Run only these harnesses (repeatable). Default: all.",
)
@click.option("--models", "models_dir", type=click.Path(path_type=Path), default=DEFAULT_MODELS)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=RESULTS)
def run(quick: bool, only: tuple[str, ...], models_dir: Path, out_dir: Path) -> None:
    """Run the harnesses and write latest.json, latest.md and plots to OUT."""
    chosen = set(only) or {"encoder", "formats", "generation", "grammar", "sdk", "privacy"}
    results: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": quick,
        "machine": describe_machine(),
    }
    # The machine may be shared: its load before and after each harness says how far the
    # wall-clock figures can be trusted ("quiet" means close to 0 on both).
    loads: dict[str, dict[str, Any]] = {}
    results["load_average"] = loads
    last = [round(value, 2) for value in os.getloadavg()]
    began = time.monotonic()

    def note_load(harness: str) -> None:
        nonlocal last, began
        now = [round(value, 2) for value in os.getloadavg()]
        seconds = round(time.monotonic() - began)
        loads[harness] = {"before": last, "after": now, "seconds": seconds}
        last, began = now, time.monotonic()

    if "encoder" in chosen:
        results["encoder"] = []
        for model in ENCODER_MODELS:
            click.echo(f"encoder serving: {model} ...")
            results["encoder"].append(encoder.run(models_dir, model, quick=quick))
        note_load("encoder")
    if "formats" in chosen:
        from benchmarks import encoder_formats

        results["encoder_formats"] = []
        for model in ENCODER_MODELS:
            click.echo(f"encoder formats: {model} ...")
            found = encoder_formats.run(models_dir, model, quick=quick)
            if found is None:
                click.echo("  (skipped: the old format is not in this checkout's git history)")
            else:
                results["encoder_formats"].append(found)
        note_load("formats")
    if "generation" in chosen:
        from benchmarks import generation

        click.echo("generation: tiny-shakespeare ...")
        results["generation"] = generation.run(models_dir, quick=quick)
        note_load("generation")
    if "grammar" in chosen:
        from benchmarks import grammar

        click.echo("constrained decoding: tiny-shakespeare ...")
        results["grammar"] = grammar.run(models_dir, quick=quick)
        note_load("grammar")
    if "sdk" in chosen:
        click.echo("sdk overhead ...")
        results["sdk"] = _sdk(models_dir, quick=quick)
        note_load("sdk")
    if "privacy" in chosen:
        from benchmarks import privacy

        click.echo("masking cost ...")
        results["privacy"] = privacy.run(quick=quick)
        note_load("privacy")

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = report.to_markdown(results)
    (out_dir / "latest.md").write_text(markdown + "\n")
    for path in report.plot(results, out_dir):
        click.echo(f"wrote {path}")
    click.echo(markdown)


@cli.command(name="report")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=RESULTS)
def rerender(out_dir: Path) -> None:
    """Write latest.md and the plots again from OUT/latest.json (no measuring)."""
    results = json.loads((out_dir / "latest.json").read_text())
    (out_dir / "latest.md").write_text(report.to_markdown(results) + "\n")
    for path in report.plot(results, out_dir):
        click.echo(f"wrote {path}")


@cli.command()
@click.option("--minutes", default=10.0, show_default=True, type=click.FloatRange(0.1, 60))
@click.option("--concurrency", default=64, show_default=True, type=click.IntRange(1, 512))
@click.option("--idempotency-max-entries", default=10_000, show_default=True, type=int)
@click.option("--models", "models_dir", type=click.Path(path_type=Path), default=DEFAULT_MODELS)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=RESULTS)
def soak(
    minutes: float, concurrency: int, idempotency_max_entries: int, models_dir: Path, out_dir: Path
) -> None:
    """Mixed clients for MINUTES against one server: errors, RSS growth, p99 drift."""
    from benchmarks import soak as harness

    found = harness.run(
        models_dir,
        seconds=minutes * 60,
        concurrency=concurrency,
        max_entries=idempotency_max_entries,
    )
    found["machine"] = describe_machine()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "soak.json").write_text(json.dumps(found, indent=2) + "\n")
    click.echo(json.dumps(found, indent=2))


if __name__ == "__main__":
    cli()
