"""``maaskit.testing.start_triton``: where Triton cannot run it says why (the reason a fixture
skips with), and a server that fails to start is an error carrying its log."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest
from maaskit.testing import TritonStartError, TritonUnavailable, start_triton


def test_a_missing_triton_installation_is_named(tmp_path: Path) -> None:
    with pytest.raises(TritonUnavailable, match=r"bin/tritonserver does not exist"):
        start_triton(tmp_path, triton_home=tmp_path / "nowhere")


def test_a_folder_that_is_no_python_environment_is_named(tmp_path: Path) -> None:
    with pytest.raises(TritonUnavailable, match="is not a Python environment"):
        start_triton(tmp_path, python_env=tmp_path)


def test_numpy_2_under_the_wheels_stub_is_named(tmp_path: Path) -> None:
    if int(metadata.version("numpy").split(".")[0]) < 2:
        pytest.skip("this environment has numpy<2: the stub can use it")
    with pytest.raises(TritonUnavailable, match=r"needs numpy<2.*MAASKIT_TRITON_PYTHON_ENV"):
        start_triton(tmp_path, python_env=Path(sys.prefix))


def test_a_repository_that_does_not_load_is_a_start_error_with_the_log(
    tmp_path: Path, triton: object
) -> None:
    # `triton` (the session server) only makes this test skip where Triton cannot run.
    broken = tmp_path / "repository" / "broken"
    (broken / "1").mkdir(parents=True)
    (broken / "config.pbtxt").write_text('backend: "python"\nmax_batch_size: "many"\n', "utf-8")

    with pytest.raises(
        TritonStartError,
        match=r"tritonserver exited(.|\n)*directory .broken.(.|\n)*failed to load all models",
    ):
        start_triton(tmp_path / "repository", log_path=tmp_path / "triton.log")
