"""``maaskit train classification``: a text classifier model folder from labelled rows."""

from __future__ import annotations

from pathlib import Path

import click


class TrainingFailed(click.ClickException):
    """A refused training run: one line on stderr, exit status 2 (bad input, like click's)."""

    exit_code = 2


@click.group()
def train() -> None:
    """Train models on your own data."""


@train.command("classification")
@click.option(
    "--data",
    "data",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Labelled rows: .csv (with a header row) or .jsonl (one object per line), UTF-8.",
)
@click.option(
    "--text-column", default="text", show_default=True, help="Column (or key) of the texts."
)
@click.option(
    "--label-column", default="label", show_default=True, help="Column (or key) of the labels."
)
@click.option(
    "--base",
    default="all-minilm-l6-v2",
    show_default=True,
    help="Encoder model folder, or the name of a default model.",
)
@click.option(
    "--method",
    type=click.Choice(["head", "finetune"]),
    default="head",
    show_default=True,
    help="head: linear classifier on the frozen encoder (no torch); finetune: train the whole "
    "encoder (needs the export extra).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Seed of the split and the training."
)
@click.option(
    "--test-split",
    default=0.2,
    show_default=True,
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Fraction of each label held out for evaluation.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="The model folder to write (MODELS_DIR/NAME; NAME is the served model's name).",
)
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option(
    "--regularization",
    default=None,
    type=click.FloatRange(0, min_open=True),
    help="head: inverse L2 strength (C) of the logistic regression "
    "(default: chosen by cross-validation on the training split).",
)
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(1), help="finetune.")
def train_classification(
    data: Path,
    text_column: str,
    label_column: str,
    base: str,
    method: str,
    seed: int,
    test_split: float,
    out: Path,
    overwrite: bool,
    regularization: float | None,
    epochs: int,
) -> None:
    """Train a text classifier on DATA and write a model folder that `maaskit serve` serves."""
    try:
        from ..training import RichProgress, TrainingError, train_classifier
        from ..training.summary import print_summary
    except ImportError as exc:
        raise TrainingFailed(
            f"training needs the train extra ({exc.name or exc} is missing): "
            'pip install "maaskit[train]"'
        ) from exc
    progress = RichProgress()
    try:
        result = train_classifier(
            data,
            out,
            text_column=text_column,
            label_column=label_column,
            base=base,
            method=method,
            seed=seed,
            test_split=test_split,
            overwrite=overwrite,
            regularization=regularization,
            epochs=epochs,
            progress=progress,
        )
    except TrainingError as exc:
        raise TrainingFailed(str(exc)) from exc
    print_summary(result, progress.console)
