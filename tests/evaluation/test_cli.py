"""``maaskit eval`` on bad input: one clear line naming the file, line or endpoint; no
traceback; an endpoint that cannot be reached is reported, not fatal. No server needed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from _support.server import free_port
from click.testing import CliRunner, Result
from maaskit.eval._cli import eval_command


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "endpoints.toml"
    port = free_port()  # nothing listens there: every call is refused
    path.write_text(
        "max_retries = 0\n"
        f'[[endpoints]]\nname = "down"\nprovider = "openai"\n'
        f'base_url = "http://127.0.0.1:{port}/v1"\nmodels = {{ sentiment = "sentiment" }}\n'
        f'[[endpoints]]\nname = "also-down"\nprovider = "kserve"\n'
        f'base_url = "http://127.0.0.1:{port}"\nmodels = {{ sentiment = "sentiment" }}\n',
        encoding="utf-8",
    )
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(eval_command, ["--no-progress", *args])


def assert_clean_error(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_bad_data_names_file_and_line(config: Path, tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "fine", "label": "positive"}\n{"text": "no label"}\n', "utf-8")
    result = run("--task", "classify", "--data", str(data), "--config", str(config))
    assert_clean_error(result, f"Error: {data}, line 2: missing column 'label'")


def test_unknown_label_against_labels(config: Path, tmp_path: Path) -> None:
    data = tmp_path / "bad.csv"
    data.write_text("text,label\nfine,positive\nmeh,so-so\n", "utf-8")
    args = ["--task", "classify", "--data", str(data), "--config", str(config)]
    result = run(*args, "--labels", "negative,neutral,positive")
    assert_clean_error(result, f"{data}, line 3: unknown label 'so-so'")


def test_unknown_endpoint_lists_the_known_ones(config: Path) -> None:
    args = ["--task", "classify", "--data", "sentiment", "--config", str(config)]
    result = run(*args, "--endpoint", "nope")
    assert_clean_error(result, "no endpoint named 'nope'; known: down, also-down")


def test_scorer_that_does_not_import(config: Path) -> None:
    args = ["--task", "complete", "--data", "completion", "--config", str(config)]
    result = run(*args, "--model", "m", "--scorer", "no_such_scorer_mod:score")
    assert_clean_error(result, "scorer 'no_such_scorer_mod:score': cannot import")


def test_missing_config(tmp_path: Path) -> None:
    result = run("--task", "classify", "--data", "sentiment", "--config", str(tmp_path / "x"))
    assert_clean_error(result, "no such file")


def test_unreachable_endpoints_are_reported_in_the_table(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    args = ["--task", "classify", "--data", "sentiment", "--config", str(config)]
    result = run(*args, "--limit", "5", "--json", str(out))
    # Each endpoint is in the table with its error rate; the command then says that nothing
    # was measured, and the report is still written.
    assert_clean_error(result, "no endpoint answered: nothing was measured")
    rows = [line for line in result.output.splitlines() if "down" in line and "│" in line]
    assert len(rows) == 2
    assert all("100% connection 5" in row for row in rows)
    assert out.is_file()


def test_missing_eval_extra_says_what_to_install(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich.table", None)  # import fails as if not installed
    out = tmp_path / "report.json"
    args = ["--task", "classify", "--data", "sentiment", "--config", str(config)]
    result = run(*args, "--limit", "2", "--json", str(out))
    assert_clean_error(result, 'pip install "maaskit[eval]"')
    assert out.is_file()  # the measurement was written before the table failed
