"""Re-creates the default models from pip-installable sources.

Needs the ``export`` extra (torch, optimum, ...). Nothing here is imported at serve time.
Each builder module exposes ``build(out_dir: pathlib.Path) -> None`` which writes one model
folder (optimum layout plus ``maaskit.json`` and a ``README.md`` model card) and raises
``RuntimeError`` when the model misses its quality bar.
"""

from __future__ import annotations

import importlib
from pathlib import Path

BUILDERS: dict[str, str] = {
    "all-minilm-l6-v2": "maaskit_server._build.minilm",
    "pii-ner": "maaskit_server._build.pii_ner",
    "sentiment": "maaskit_server._build.sentiment",
    "tiny-shakespeare": "maaskit_server._build.lm",
}


def build(name: str, out_dir: Path) -> None:
    """Build the default model ``name`` into ``out_dir / name``."""
    if name not in BUILDERS:
        known = ", ".join(sorted(BUILDERS))
        raise ValueError(f"unknown default model {name!r}; known: {known}")
    module = importlib.import_module(BUILDERS[name])
    module.build(out_dir / name)
