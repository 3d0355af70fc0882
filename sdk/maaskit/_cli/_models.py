"""``maaskit models list --base-url URL``: the models a running endpoint serves."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from ._common import add_endpoint_options, make_client

# Flags that make ``maaskit models list`` ask a running endpoint (this module) instead of
# loading a models folder on this machine (the server's command of the same name).
REMOTE_FLAGS = ("--base-url", "--provider")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = commands.add_parser(
        "models",
        help="The models a running endpoint serves (models list --base-url URL).",
        description="With --base-url or --provider: the models of a running endpoint, through "
        "the SDK. Without them, and the server installed: the server's commands for model "
        "folders on this machine (list --models DIR, build, export-triton).",
    )
    actions = models.add_subparsers(dest="models_command", metavar="COMMAND", required=True)
    listing = actions.add_parser(
        "list",
        help="List the endpoint's models.",
        description="List the models of the endpoint at --base-url (nothing is loaded here).",
    )
    listing.add_argument("--json", action="store_true", help="Print the list as JSON.")
    add_endpoint_options(listing)
    listing.set_defaults(run=run_list)


def run_list(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    with make_client(args) as client:
        found = client.models()
    if args.json:
        stdout.write(json.dumps([model.model_dump(mode="json") for model in found]) + "\n")
        return
    width = max([len("ID"), *(len(model.id) for model in found)])
    stdout.write(f"{'ID':<{width}}  OWNED BY\n")
    for model in found:
        stdout.write(f"{model.id:<{width}}  {model.owned_by or ''}\n".rstrip() + "\n")
