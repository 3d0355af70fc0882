"""The report for people: a ``rich`` table, progress bars, and a PNG plot (matplotlib).

Both libraries come with the ``eval`` extra, not with the SDK: they are imported when first
used, and their absence is a :class:`MissingExtra` saying what to install.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._recommend import pareto_front
from ._report import EndpointResult, EvalReport

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["MissingExtra", "RichProgress", "render_table", "report_table", "write_plot"]


_PIPED_WIDTH = 140


class MissingExtra(ImportError):
    """A library of the ``eval`` extra is not installed."""


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(
            f'{module.split(".")[0]} is needed for this output: pip install "maaskit[eval]"'
        ) from exc


def _number(value: float | None, digits: int = 4) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _errors(entry: EndpointResult) -> str:
    if not entry.calls:
        return "—"
    rate = f"{entry.error_rate:.0%}"
    if not entry.failures:
        return rate
    return rate + " " + ", ".join(f"{kind} {count}" for kind, count in entry.failures.items())


def _secondary(report: EvalReport, entry: EndpointResult) -> tuple[str, str]:
    """A second quality column: accuracy for classification, R@1 or Spearman for embeddings."""
    if report.task == "classify":
        return "accuracy", _number(entry.metrics.get("accuracy"))
    if report.task == "embed":
        if "retrieval" in entry.metrics:
            return "R@1", _number(entry.metrics["retrieval"]["recall_at_1"])
        sts = entry.metrics.get("sts") or {}
        return "spearman", _number(sts.get("spearman"))
    return "scored", str(entry.metrics.get("scored", 0))


def report_table(report: EvalReport) -> Table:
    """The report as a ``rich`` table, best quality first."""
    table_module = _require("rich.table")
    ranked = report.ranking()
    second = _secondary(report, ranked[0])[0] if ranked else ""
    table: Table = table_module.Table(
        title=f"{report.task} · {report.model} · {report.items} items · "
        f"concurrency {report.concurrency}"
    )
    table.add_column("#", justify="right")
    table.add_column("endpoint")
    table.add_column(f"quality ({report.quality_metric})", justify="right")
    table.add_column(second, justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p95 ms", justify="right")
    table.add_column("items/s", justify="right")
    table.add_column("errors")
    table.add_column("tokens/1k", justify="right")
    table.add_column("$/1k", justify="right")
    for rank, entry in enumerate(ranked, start=1):
        tokens = entry.prompt_tokens_per_1k + entry.completion_tokens_per_1k
        table.add_row(
            str(rank) if entry.quality is not None else "—",
            entry.name,
            _number(entry.quality),
            _secondary(report, entry)[1],
            _number(entry.latency_p50_ms, 1),
            _number(entry.latency_p95_ms, 1),
            _number(entry.throughput_per_s, 1),
            _errors(entry),
            f"{tokens:,.0f}" if entry.answered else "—",
            _number(entry.cost_per_1k, 6),
        )
    return table


def render_table(report: EvalReport, console: Console | None = None) -> None:
    """Print the table and the recommendations (to ``console``, default stdout)."""
    if console is None:
        console = _require("rich.console").Console()
        assert console is not None
        if not console.is_terminal:
            # Piped or captured output would wrap at rich's default 80 columns.
            console = _require("rich.console").Console(width=_PIPED_WIDTH)
    assert console is not None
    console.print(report_table(report))
    for item in report.recommendations:
        console.print(f"{item.rule}: {item.endpoint or '—'} ({item.reason})")
    excluded = report.not_recommended()
    if excluded:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in excluded.items())
        console.print(f"not recommended: {reasons}")


class RichProgress:
    """A :class:`~maaskit.eval.ProgressHook` drawing one ``rich`` progress bar per endpoint.

    Use it as a context manager around ``evaluate``."""

    def __init__(self, console: Console | None = None) -> None:
        progress = _require("rich.progress")
        self._progress = progress.Progress(
            progress.TextColumn("{task.description}"),
            progress.BarColumn(),
            progress.MofNCompleteColumn(),
            progress.TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def start(self, endpoint: str, total: int) -> None:
        self._tasks[endpoint] = self._progress.add_task(endpoint, total=total)

    def advance(self, endpoint: str, count: int) -> None:
        self._progress.advance(self._tasks[endpoint], count)

    def finish(self, endpoint: str) -> None:
        task = self._tasks[endpoint]
        self._progress.update(task, completed=self._progress.tasks[task].total)


def _cost(entry: EndpointResult) -> float | None:
    return entry.cost_per_1k


def _p95(entry: EndpointResult) -> float | None:
    return entry.latency_p95_ms


def write_plot(report: EvalReport, path: str | Path) -> list[str]:
    """Write a PNG: quality against cost per 1,000 inputs and against p95 latency, each with
    its Pareto front (cheaper / faster and better) drawn and marked. Endpoints without a
    measured quality, cost or latency are left out of that panel; returns the names on the
    cost front."""
    matplotlib = _require("matplotlib")
    matplotlib.use("Agg")  # no display: the file is the output
    pyplot = _require("matplotlib.pyplot")
    figure, axes = pyplot.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    fronts: list[list[str]] = []
    panels: tuple[tuple[str, Callable[[EndpointResult], float | None]], ...] = (
        ("cost per 1,000 inputs (USD)", _cost),
        ("p95 latency (ms)", _p95),
    )
    for axis, (label, x_of) in zip(axes, panels, strict=True):
        shown = [e for e in report.endpoints if e.quality is not None and x_of(e) is not None]
        points = [(float(x_of(e) or 0.0), float(e.quality or 0.0)) for e in shown]
        front = pareto_front(points)
        fronts.append([shown[i].name for i in front])
        for i, (entry, (x, y)) in enumerate(zip(shown, points, strict=True)):
            on_front = i in front
            axis.scatter(
                [x], [y], s=70 if on_front else 40, marker="*" if on_front else "o", zorder=3
            )
            axis.annotate(entry.name, (x, y), textcoords="offset points", xytext=(6, 4))
        if front:
            axis.plot(
                [points[i][0] for i in front],
                [points[i][1] for i in front],
                linestyle="--",
                color="grey",
                # The staircase bounds what is attainable: no endpoint is cheaper (faster)
                # and better than a point on it.
                drawstyle="steps-post",
                label="Pareto front",
                zorder=2,
            )
            axis.legend(loc="best", title="★ on the front")
        axis.margins(0.15)  # room for the names
        axis.set_xlabel(label)
        axis.set_ylabel(f"quality ({report.quality_metric})")
        axis.grid(alpha=0.3)
        missing = len(report.endpoints) - len(shown)
        if missing:
            axis.set_title(f"{missing} endpoint(s) not shown (nothing measured)", fontsize=9)
    figure.suptitle(f"{report.task} · {report.model} · {report.items} items")
    figure.savefig(str(path), dpi=100)
    pyplot.close(figure)
    return fronts[0]
