"""The summary the CLI prints after training: a table of the held-out scores and what next."""

from __future__ import annotations

import shlex
from typing import Any

from .pipeline import TrainingResult


def print_summary(result: TrainingResult, console: Any) -> None:
    from rich.table import Table

    metrics = result.metrics
    table = Table(title=f"{result.name}: held-out test split ({metrics.examples} examples)")
    for column in ("label", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for label, scores in metrics.per_class.items():
        table.add_row(
            label,
            f"{scores.precision:.4f}",
            f"{scores.recall:.4f}",
            f"{scores.f1:.4f}",
            str(scores.support),
        )
    table.add_section()
    table.add_row("accuracy", "", "", f"{metrics.accuracy:.4f}", str(metrics.examples))
    table.add_row("macro-F1", "", "", f"{metrics.macro_f1:.4f}", "")
    console.print(table)
    console.print(f"wrote {result.path} (model card: {result.path / 'README.md'})", highlight=False)
    models_dir = shlex.quote(str(result.path.parent))
    console.print("next: serve it with", highlight=False)
    console.print(f"  maaskit serve --models {models_dir}", highlight=False, soft_wrap=True)
    example = (
        "  curl -s http://127.0.0.1:8000/v1/classify -H 'Content-Type: application/json' "
        f"""-d '{{"model": "{result.name}", "input": ["your text"]}}'"""
    )
    console.print(example, highlight=False, soft_wrap=True, markup=False)
