"""What every client command shares: the endpoint options, the client, inputs and errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from .._client import Client
from .._exceptions import MaaSError

PROVIDERS = ("openai", "hf", "kserve", "ollama")

# Exit statuses: argparse's 2 for a bad command line (and bad input text), 1 for a call that
# failed (connection, timeout, an error status), 130 for Ctrl-C as shells report SIGINT.
EXIT_CALL_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A command line or input the command cannot use: one line on stderr, exit status 2."""


def add_endpoint_options(parser: argparse.ArgumentParser) -> None:
    """``--provider``, ``--base-url``, ``--api-key``, ``--timeout``, ``--max-retries``."""
    group = parser.add_argument_group("endpoint (defaults: the SDK's environment variables)")
    group.add_argument(
        "--provider",
        choices=PROVIDERS,
        default=None,
        help="The API's protocol (default: openai).",
    )
    group.add_argument(
        "--base-url",
        default=None,
        help="The endpoint's URL, e.g. http://127.0.0.1:8000/v1 (default: $MAASKIT_BASE_URL, "
        "or $OPENAI_BASE_URL for provider openai).",
    )
    group.add_argument(
        "--api-key",
        default=None,
        help="Bearer key (default: $MAASKIT_API_KEY, or $OPENAI_API_KEY for provider openai). "
        "The environment keeps it out of the shell history and the process list.",
    )
    group.add_argument(
        "--timeout",
        type=positive_float,
        default=None,
        help="Seconds for connect, read and write each (default: 5 s connect, 60 s read).",
    )
    group.add_argument(
        "--max-retries",
        type=non_negative_int,
        default=None,
        help="Retries after the first attempt (default 2).",
    )


def make_client(args: argparse.Namespace) -> Client:
    options: dict[str, object] = {}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    return Client(
        provider=args.provider,
        base_url=args.base_url,
        api_key=args.api_key,
        max_retries=args.max_retries,
        **options,  # type: ignore[arg-type]  # only the timeout, a float
    )


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def input_texts(texts: Sequence[str], stdin: TextIO) -> list[str]:
    """The texts given as arguments, else one per non-empty line of standard input."""
    if texts:
        return list(texts)
    if stdin.isatty():
        raise UsageError("give TEXT arguments or pipe one text per line on standard input")
    lines = [line.rstrip("\r\n") for line in stdin]
    found = [line for line in lines if line.strip()]
    if not found:
        raise UsageError("no input: standard input had no non-empty line")
    return found


def one_line(error: BaseException) -> str:
    """An error's message on one line (provider messages may hold newlines)."""
    return " ".join(str(error).split()) or type(error).__name__


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turns the SDK's errors into one line on stderr and an exit status, never a traceback."""
    try:
        yield
    except MaaSError as exc:
        sys.stderr.write(f"maaskit: error: {one_line(exc)}\n")
        raise SystemExit(EXIT_CALL_FAILED) from None
    except (UsageError, ValueError) as exc:  # ValueError: the SDK's checks of arguments
        sys.stderr.write(f"maaskit: error: {one_line(exc)}\n")
        raise SystemExit(EXIT_USAGE) from None
