"""The server's commands of ``maaskit``: ``serve``, ``keys``, ``models``, ``train`` and ``demo``.

The ``maaskit`` command itself is the SDK's (``maaskit._cli``): it answers the client commands
and runs this group for the others, so that an SDK-only install has a working command.
"""

from __future__ import annotations

import click
from maaskit import __version__

from ._keys import keys
from ._models import models
from ._serve import serve
from ._train import train


@click.group()
@click.version_option(__version__, prog_name="maaskit")
def main() -> None:
    """maaskit: a MaaS client toolkit and a reference server that behaves like the real ones."""


@main.command()
@click.option("--timeout", default=180.0, show_default=True, help="Seconds to wait for /ready.")
def demo(timeout: float) -> None:
    """Start the reference server, call it through the SDK, print the answers, stop it."""
    from .._demo import DemoError, run_demo

    try:
        run_demo(timeout_s=timeout, echo=click.echo)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc


main.add_command(serve)
main.add_command(keys)
main.add_command(models)
main.add_command(train)

__all__ = ["main", "serve"]
