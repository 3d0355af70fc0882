"""One trained classifier for the whole session: the shipped support-ticket set, ``head``, seed 0.

Training it takes seconds (about 320 texts through the int8 MiniLM); every test of this
directory that needs a trained folder shares it, and the loop tests serve it from one server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip(
    "sklearn", reason='training needs the train extra: pip install "maaskit[train]"'
)
pytest.importorskip("onnx", reason='training needs the train extra: pip install "maaskit[train]"')

from maaskit_server.training import TrainingResult, train_classifier

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data" / "support_tickets.csv"
MODEL_NAME = "tickets"
SEED = 0


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainingResult:
    models_dir = tmp_path_factory.mktemp("trained-models")
    return train_classifier(DATA, models_dir / MODEL_NAME, seed=SEED)
