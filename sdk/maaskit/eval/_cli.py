"""``maaskit eval``: endpoints measured side by side (the ``eval`` extra brings click).

The SDK's ``maaskit`` command runs this command when click is installed and says which extra to
install when it is not.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

import maaskit.eval as maaseval

from .._config_file import load_config


def _label_maps(values: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``ENDPOINT:THEIRS=OURS,THEIRS=OURS`` options → {endpoint: {their label: our label}}."""
    maps: dict[str, dict[str, str]] = {}
    for value in values:
        name, colon, pairs = value.partition(":")
        mapping = dict(pair.split("=", 1) for pair in pairs.split(",") if "=" in pair)
        if not colon or not name or not mapping:
            raise click.BadParameter(
                f"{value!r}: expected ENDPOINT:THEIR_LABEL=OUR_LABEL[,...]",
                param_hint="--label-map",
            )
        maps.setdefault(name, {}).update(mapping)
    return maps


@click.command("eval")
@click.option(
    "--task",
    required=True,
    type=click.Choice(["classify", "embed", "chat", "complete"]),
    help="What the endpoints are measured on (embed: retrieval or similarity data).",
)
@click.option(
    "--data",
    required=True,
    help="A .jsonl or .csv file, or a shipped set: sentiment, retrieval, sts, completion.",
)
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file of [[endpoints]] (as Client.from_config reads).",
)
@click.option("--model", help="Public model name the endpoints serve.")
@click.option("--endpoint", "names", multiple=True, help="Evaluate only this one (repeatable).")
@click.option("--limit", type=click.IntRange(1), help="Evaluate the first N rows only.")
@click.option(
    "--concurrency",
    default=4,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Calls in flight per endpoint.",
)
@click.option(
    "--batch-size",
    default=1,
    show_default=True,
    type=click.IntRange(1, 2048),
    help="Inputs per call (classify, embed).",
)
@click.option("--labels", help="Comma-separated allowed labels (classify), in display order.")
@click.option(
    "--label-map",
    "label_maps",
    multiple=True,
    metavar="ENDPOINT:THEIRS=OURS,...",
    help="An endpoint's label names mapped to the data's (repeatable).",
)
@click.option(
    "--scorer", help="chat/complete: exact, normalized, contains, regex or module:function."
)
@click.option("--max-tokens", type=click.IntRange(1), help="chat/complete: tokens per answer.")
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report as JSON (what a best_value router loads).",
)
@click.option(
    "--plot",
    "plot_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a PNG plot of quality against cost and p95 latency.",
)
@click.option("--min-quality", type=click.FloatRange(0, 1), help="best_value: quality floor.")
@click.option("--max-p95-ms", type=click.FloatRange(0, min_open=True), help="best_value: p95.")
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Progress bars on stderr.",
)
def eval_command(
    task: str,
    data: str,
    config_path: Path,
    model: str | None,
    names: tuple[str, ...],
    limit: int | None,
    concurrency: int,
    batch_size: int,
    labels: str | None,
    label_maps: tuple[str, ...],
    scorer: str | None,
    max_tokens: int | None,
    json_out: Path | None,
    plot_out: Path | None,
    min_quality: float | None,
    max_p95_ms: float | None,
    progress: bool,
) -> None:
    """Measure endpoints on labelled data: quality, latency and cost side by side."""
    try:
        settings = load_config(config_path)
        endpoints = maaseval.select_endpoints(settings.endpoints, names)
        hook = maaseval.RichProgress() if progress else None
        with hook if hook is not None else contextlib.nullcontext():
            report = maaseval.evaluate(
                endpoints,
                task=task,  # type: ignore[arg-type]  # click.Choice checked it
                data=maaseval.resolve_data(data),
                model=model or maaseval.default_model(endpoints),
                limit=limit,
                concurrency=concurrency,
                batch_size=batch_size,
                labels=labels.split(",") if labels else None,
                label_map=_label_maps(label_maps),
                scorer=scorer,
                params={"max_tokens": max_tokens} if max_tokens else None,
                min_quality=min_quality,
                max_p95_ms=max_p95_ms,
                progress=hook,
                client_options=settings.options,
            )
        if json_out is not None:  # first: the measurement is kept whatever fails below
            report.write_json(json_out)
        maaseval.render_table(report)
        if json_out is not None:
            click.echo(f"report written to {json_out}")
        if plot_out is not None:
            maaseval.write_plot(report, plot_out)
            click.echo(f"plot written to {plot_out}")
    except (ValueError, TypeError, ImportError, OSError) as exc:  # DataError, ScorerError...
        raise click.ClickException(str(exc)) from exc
    if all(entry.quality is None for entry in report.endpoints):
        raise click.ClickException("no endpoint answered: nothing was measured")
