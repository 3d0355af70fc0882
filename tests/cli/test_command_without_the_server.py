"""``maaskit`` in an SDK-only install: the client commands and --help work, the server's
commands say how to install the server. (CI also checks this from the built wheel in a fresh
virtual environment; here the server's modules are hidden from the import system.)"""

from __future__ import annotations

import sys

import pytest
from maaskit._cli import main


@pytest.fixture
def sdk_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("maaskit_server", "maaskit_server.cli", "click"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    monkeypatch.delitem(sys.modules, "maaskit.eval._cli", raising=False)  # re-imported: fails


@pytest.mark.usefixtures("sdk_only")
def test_help_lists_every_command_and_how_to_install_the_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("chat", "complete", "embed", "classify", "models", "serve", "demo", "eval"):
        assert f"    {command} " in out or f"  {command} " in out
    assert 'server commands (not installed: pip install "maaskit[server]")' in out


@pytest.mark.usefixtures("sdk_only")
@pytest.mark.parametrize("command", ["serve", "keys", "train", "demo"])
def test_a_server_command_says_how_to_install_the_server(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"maaskit: error: 'maaskit {command}' needs the reference server: "
        'pip install "maaskit[server]" '
        "(or, from a checkout: pip install ./sdk ./reference_server)\n"
    )


@pytest.mark.usefixtures("sdk_only")
def test_models_is_the_remote_listing_and_eval_names_its_extra(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["models", "list", "--help"]) == 0
    assert "--base-url" in capsys.readouterr().out
    assert main(["eval", "--help"]) == 2
    assert 'needs the eval extra (click is missing): pip install "maaskit[eval]"' in (
        capsys.readouterr().err
    )


def test_with_the_server_its_commands_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    assert "--models" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("maaskit 0.")
