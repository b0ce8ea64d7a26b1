"""The ``carecue`` command line. Each sub-command lives in its own module with ``register``."""

from __future__ import annotations

import importlib

import typer

cli = typer.Typer(
    name="carecue",
    help="CareCue: real-time empathy assistant for medical support lines.",
    no_args_is_help=True,
    add_completion=False,
)

# Each module defines ``register(cli: typer.Typer) -> None``. Heavy imports stay inside
# the command functions so that ``carecue --help`` is instant.
_COMMAND_MODULES: tuple[str, ...] = (
    "app.cli.simulate",
    "app.cli.demo",
    "app.cli.transcribe",
    "app.cli.serve",
    "app.cli.token",
    "app.cli.playbook",
    "app.cli.classify",
)


@cli.callback()
def _root() -> None:
    """CareCue: real-time empathy assistant for medical support lines."""


@cli.command()
def version() -> None:
    """Print the CareCue version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("carecue"))


def main() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(cli)
    cli()
