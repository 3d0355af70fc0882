"""The ``maaskit`` command.

The client commands (``chat``, ``complete``, ``embed``, ``classify``, ``models list
--base-url``) are the SDK's own, on argparse, so that an install of the SDK alone has a working
command. The server's commands (``serve``, ``keys``, ``models``, ``train``, ``demo``) are
``maaskit_server.cli``'s click group, run when the server is installed; without it they say
how to install it. ``eval`` is the SDK's too but needs the ``eval`` extra (click, rich).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from typing import TextIO

from .._version import __version__
from . import _calls, _models
from ._common import EXIT_INTERRUPTED, EXIT_USAGE, reported_errors

SERVER_COMMANDS = {
    "serve": "serve models over HTTP",
    "keys": "create, list and revoke a server's API keys",
    "models": "list --models DIR, build or export-triton model folders on this machine",
    "train": "train a classifier model folder on your own data",
    "demo": "start the reference server and call it through the SDK",
}
SERVER_INSTALL = 'pip install "maaskit[server]"'
EVAL_INSTALL = 'pip install "maaskit[eval]"'

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``maaskit`` with ``argv`` (default: the process's arguments); the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(args, sys.stdin, sys.stdout)
    except SystemExit as exc:  # argparse's --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `maaskit embed ... | head`: the reader left, nothing to report
        return 0


def _dispatch(args: list[str], stdin: TextIO, stdout: TextIO) -> int:
    command = args[0] if args else ""
    if command == "eval":
        return _run_eval(args[1:])
    if command in SERVER_COMMANDS and not _is_remote_models_list(args):
        return _run_server(args)
    parser = _parser()
    # argparse gives a TEXT... positional only the words before the first option; the words
    # after (`maaskit classify sentiment --json "text"`) come back unrecognised and are added.
    parsed, extra = parser.parse_known_args(args)
    if extra and hasattr(parsed, "texts") and not any(word.startswith("-") for word in extra):
        parsed.texts = [*parsed.texts, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not hasattr(parsed, "run"):
        parser.print_help(stdout)
        return EXIT_USAGE
    try:
        with reported_errors():
            parsed.run(parsed, stdin, stdout)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _is_remote_models_list(args: list[str]) -> bool:
    if args[:1] != ["models"]:
        return False
    if any(arg.split("=", 1)[0] in _models.REMOTE_FLAGS for arg in args[1:]):
        return True
    return not _server_installed()  # then the SDK's own `models` answers, and says what it needs


def _parser() -> argparse.ArgumentParser:
    installed = _server_installed()
    server_lines = "\n".join(f"  {name:<10} {text}" for name, text in SERVER_COMMANDS.items())
    note = "" if installed else f" (not installed: {SERVER_INSTALL})"
    parser = argparse.ArgumentParser(
        prog="maaskit",
        description="maaskit: a MaaS client toolkit and a reference server that behaves like "
        "the real ones. Client commands work against any endpoint with the SDK alone.",
        epilog=f"server commands{note}:\n{server_lines}\n\n"
        f"  eval       measure endpoints on labelled data ({EVAL_INSTALL})\n\n"
        "Run 'maaskit COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"maaskit {__version__}")
    commands = parser.add_subparsers(title="client commands", metavar="COMMAND")
    _calls.add_commands(commands)
    _models.add_commands(commands)
    return parser


def _server_installed() -> bool:
    """Whether the server's commands can run, without importing them (the client commands
    must not pay for the server's imports)."""
    return all(importlib.util.find_spec(name) is not None for name in ("maaskit_server", "click"))


def _server_cli() -> object | None:
    """The server's click group, or None when the server (or click) is not installed."""
    try:
        module = importlib.import_module("maaskit_server.cli")
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] not in ("maaskit_server", "click"):
            raise  # the server is installed but broken: show it, do not hide it as "missing"
        return None
    return getattr(module, "main", None)


def _run_server(args: list[str]) -> int:
    group = _server_cli()
    if group is None:
        sys.stderr.write(
            f"maaskit: error: 'maaskit {args[0]}' needs the reference server: {SERVER_INSTALL}"
            f" (or, from a checkout: pip install ./sdk ./reference_server)\n"
        )
        return EXIT_USAGE
    return _run_click(group, args, "maaskit")


def _run_eval(args: list[str]) -> int:
    try:
        module = importlib.import_module("maaskit.eval._cli")
    except ImportError as exc:
        sys.stderr.write(
            f"maaskit: error: 'maaskit eval' needs the eval extra ({exc.name} is missing): "
            f"{EVAL_INSTALL}\n"
        )
        return EXIT_USAGE
    return _run_click(module.eval_command, args, "maaskit eval")


def _run_click(command: object, args: list[str], prog_name: str) -> int:
    try:
        command.main(args=args, prog_name=prog_name)  # type: ignore[attr-defined]
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
