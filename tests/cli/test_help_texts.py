"""Every option of every ``maaskit`` command says what it does."""

from __future__ import annotations

import argparse

import click
from maaskit._cli import _parser
from maaskit.eval._cli import eval_command
from maaskit_server.cli import main as server_main


def _click_options(command: click.Command, path: str) -> list[tuple[str, click.Option]]:
    found = [(path, p) for p in command.params if isinstance(p, click.Option)]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += _click_options(sub, f"{path} {name}")
    return found


def test_every_server_and_eval_option_has_help() -> None:
    options = _click_options(server_main, "maaskit") + _click_options(eval_command, "eval")
    assert len(options) > 60
    missing = [f"{path} {option.opts[0]}" for path, option in options if not option.help]
    assert missing == []


def _argparse_actions(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _argparse_actions(sub, f"{path} {name}")
        elif action.help in (None, ""):
            found.append((path, action.dest))
    return found


def test_every_client_command_argument_has_help() -> None:
    assert _argparse_actions(_parser(), "maaskit") == []
