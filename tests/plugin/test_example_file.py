"""``examples/test_with_maaskit_plugin.py`` run exactly as a user runs it: a separate pytest
process outside this project's configuration, the plugin found through its entry point, and
through ``-p maaskit.testing`` with autoloading on (no double registration) and off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "test_with_maaskit_plugin.py"
TIMEOUT_S = 600


def run_pytest(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    # -c /dev/null and --rootdir: none of this repository's pytest settings or conftests apply.
    command = [sys.executable, "-m", "pytest", str(EXAMPLE), "-v", "-p", "no:cacheprovider"]
    command += ["--rootdir", str(tmp_path), "-c", os.devnull, *args]
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def test_the_example_passes_with_the_entry_point(tmp_path: Path) -> None:
    output = run_pytest(tmp_path)
    assert "7 passed" in output
    assert "test_search_survives_two_503s PASSED" in output
    assert "test_reply_with_the_mock PASSED" in output


@pytest.mark.parametrize("autoload", ["on", "off"])
def test_the_example_mock_tests_pass_with_an_explicit_p_option(
    tmp_path: Path, autoload: str
) -> None:
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"} if autoload == "off" else {}
    output = run_pytest(tmp_path, "-p", "maaskit.testing", "-k", "mock or reply", env=env)
    assert "3 passed" in output
