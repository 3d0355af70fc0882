"""``examples/test_tool_conversation.py`` run as a user runs it: its own pytest process with the
plugin from the entry point, a real server with scripted answers, the official openai client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "test_tool_conversation.py"


def test_the_tool_conversation_example_passes(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pytest", str(EXAMPLE), "-v", "-p", "no:cacheprovider"]
    command += ["--rootdir", str(tmp_path), "-c", os.devnull]
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "test_two_turn_tool_conversation PASSED" in output
    assert "2 passed" in output
