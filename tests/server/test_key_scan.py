"""The suite-wide key scan (tests/_support/key_scan.py) is real: a sub-run whose test lets a key
into a scanned place fails, and says where without printing the key; a clean sub-run passes."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parents[1]
# Not named *KEY: the outer run must not scan for it (the sub-runs print it on purpose).
FAKE = "fake-key-for-the-scan-0123456789"


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, body: str) -> pytest.RunResult:
    monkeypatch.syspath_prepend(str(TESTS_DIR))
    monkeypatch.setenv("PYTHONPATH", str(TESTS_DIR))
    pytester.makepyfile(test_sub=body)
    return pytester.runpytest_subprocess("-p", "_support.key_scan", "-p", "no:cacheprovider")


# One sub-run, one test per scanned place (each sub-run starts a whole pytest: ~10 s).
LEAKS = f"""
import logging
import sys

import pytest
from _support.key_scan import register_key

SERVICE_KEY = "{FAKE}"
KEYS = {{"team": "{FAKE}"}}


def test_a_log_line():
    logging.getLogger("x").warning("calling with %s", SERVICE_KEY)


def test_stdout():
    print("team key:", KEYS["team"])


def test_a_key_registered_by_a_fixture_in_stderr():
    key = "-".join(["another", "fake", "key", "0123456789"])
    register_key(key)
    sys.stderr.write(key)


def test_a_server_log_file(tmp_path):
    (tmp_path / "server.log").write_text("INFO: Authorization: Bearer " + SERVICE_KEY)


def test_a_failures_text():
    assert SERVICE_KEY == "something else"


class _Server:
    api_key = "-".join(["fixture", "made", "key", "0123456789"])


@pytest.fixture
def server():
    return _Server()


def test_a_fixtures_key_in_stdout(server):
    print(server.api_key)
"""
PLACES = [
    "test_a_log_line Captured log call",
    "test_stdout Captured stdout call",
    "test_a_key_registered_by_a_fixture_in_stderr Captured stderr call",
    "server.log",
    "test_a_failures_text (call) failure",
    "test_a_fixtures_key_in_stdout Captured stdout call",
]


def test_a_key_in_any_scanned_place_fails_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(pytester, monkeypatch, LEAKS)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=5, failed=1)  # the scan, not the tests, fails the run
    output = result.stdout.str()
    # The scan's section: from its title to the next one (FAILURES, summary).
    section = output.split("API keys in the suite's logs", 1)[1].split("\n=")[0]
    for place in PLACES:
        assert place in section, place
    # The report names where, and the key's length, never the key.
    assert FAKE not in section
    assert f"a key of {len(FAKE)} characters" in section


def test_a_clean_run_passes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(
        pytester,
        monkeypatch,
        f"""
import logging
API_KEY = "{FAKE}"
ENV_NAME_KEY = "MAASKIT_API_KEY"  # the name of a variable, not a key
def test_it(tmp_path):
    logging.getLogger("x").warning("calling with a key of %d characters", len(API_KEY))
    print("MAASKIT_API_KEY is set")
    (tmp_path / "server.log").write_text("INFO: request from key id 'team'")
""",
    )
    assert result.ret == pytest.ExitCode.OK
    assert "API keys in the suite's logs" not in result.stdout.str()
