"""``maaskit train classification`` refusals: one line naming the problem, exit status 2, and
nothing left in (or next to) the output folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from maaskit_server.cli import main
from maaskit_server.training import train_classifier

from .conftest import DATA

GOOD = b"text,label\n" + b"".join(
    f"ticket number {i} about {topic},{topic}\n".encode() for i in range(3) for topic in "ab"
)


def _train(tmp_path: Path, data: Path, *extra: str) -> tuple[int, str, Path]:
    out = tmp_path / "models" / "clf"
    result = CliRunner().invoke(
        main, ["train", "classification", "--data", str(data), "--out", str(out), *extra]
    )
    return result.exit_code, result.output, out


def _write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "extra", "message"),
    [
        ("one.csv", b"text,label\nx,a\ny,a\nz,a\n", (), "needs at least 2 labels"),
        ("empty.csv", b"text,label\nx,a\ny,\nz,b\n", (), "row at line 3 has an empty label"),
        ("cols.csv", b"body,label\nx,a\n", (), "has no column 'text' (--text-column)"),
        ("few.csv", b"text,label\nx,a\ny,b\nz,b\n", (), "at least 4 are needed"),
        ("latin1.csv", "text,label\ncafé,a\n".encode("latin-1"), (), "is not UTF-8"),
        ("ok.csv", GOOD, ("--base", "tiny-shakespeare"), "text-generation model, not an encoder"),
        ("ok.csv", GOOD, ("--base", "sentiment"), "classification model, not an encoder"),
        ("ok.csv", GOOD, ("--base", "no-such-model"), "neither a folder nor a default model"),
        ("data.txt", GOOD, (), "unknown data format '.txt'"),
    ],
)
def test_refused_with_one_line_and_status_2(
    tmp_path: Path, name: str, content: bytes, extra: tuple[str, ...], message: str
) -> None:
    code, output, out = _train(tmp_path, _write(tmp_path, name, content), *extra)
    assert code == 2, output
    assert output.startswith("Error: "), output
    assert output.count("\n") == 1, output
    assert message in output
    assert not out.exists()
    assert not (out.parent.exists() and any(out.parent.iterdir()))


def test_a_base_folder_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    not_a_model = tmp_path / "base"
    not_a_model.mkdir()
    (not_a_model / "config.json").write_text("{}", encoding="utf-8")
    code, output, out = _train(
        tmp_path, _write(tmp_path, "ok.csv", GOOD), "--base", str(not_a_model)
    )
    assert code == 2
    assert "is not a model folder: missing model.onnx" in output
    assert not out.exists()


def test_an_existing_output_is_kept_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "models" / "clf"
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    code, output, _ = _train(tmp_path, DATA)
    assert code == 2
    assert "already exists; pass --overwrite to replace it" in output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_a_failure_midway_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from maaskit_server.training import head_method

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the head did not converge")

    monkeypatch.setattr(head_method, "fit_head", broken)
    out = tmp_path / "models" / "clf"
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(RuntimeError, match="did not converge"):
        train_classifier(_write(tmp_path, "ok.csv", GOOD), out, overwrite=True)
    assert sorted(p.name for p in out.parent.iterdir()) == ["clf"]  # no staging folder
    assert [p.name for p in out.iterdir()] == ["keep.txt"]  # the old model is untouched


def test_finetune_without_torch_is_refused_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def without_torch(name: str, *args: object) -> object:
        return None if name == "torch" else real_find_spec(name)

    monkeypatch.setattr(importlib.util, "find_spec", without_torch)
    code, output, out = _train(tmp_path, _write(tmp_path, "ok.csv", GOOD), "--method", "finetune")
    assert code == 2
    # torch comes first in the list of what is missing (the others may be installed or not).
    assert "--method finetune needs torch and optimum (torch" in output
    assert 'pip install "maaskit[export]"' in output
    assert not out.exists()
