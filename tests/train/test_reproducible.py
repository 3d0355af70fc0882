"""Same data, seed and method: the same metrics and the same ``model.onnx`` bytes."""

from __future__ import annotations

from pathlib import Path

from maaskit_server.training import TrainingResult, train_classifier

from .conftest import DATA, SEED


def test_training_twice_gives_identical_bytes_and_metrics(
    trained: TrainingResult, tmp_path: Path
) -> None:
    again = train_classifier(DATA, tmp_path / "again", seed=SEED)
    assert again.metrics == trained.metrics
    assert (again.path / "model.onnx").read_bytes() == (trained.path / "model.onnx").read_bytes()
    assert again.facts["model_sha256"] == trained.facts["model_sha256"]
    # The card differs only in the model's name (its title and the folder it names).
    card = (trained.path / "README.md").read_text(encoding="utf-8")
    assert (again.path / "README.md").read_text(encoding="utf-8") == card.replace(
        f"# {trained.name}\n", "# again\n", 1
    )
