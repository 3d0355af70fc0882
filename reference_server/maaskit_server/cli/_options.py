"""Options that several commands share."""

from __future__ import annotations

from pathlib import Path

import click

from ..settings import DEFAULT_MODELS_DIR

MODELS_OPTION = click.option(
    "--models",
    "models_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_MODELS_DIR,
    show_default="the bundled default models",
    help="A folder of model folders, or one model folder (optimum ONNX export layout).",
)
