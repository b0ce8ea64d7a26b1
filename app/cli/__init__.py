"""The ``carecue`` command line. Each sub-command lives in its own module with ``register``."""

from __future__ import annotations

import typer

from app.cli import (
    classify,
    contract,
    demo,
    models,
    playbook,
    serve,
    simulate,
    token,
    transcribe,
)

cli = typer.Typer(
    name="carecue",
    help="CareCue: real-time empathy assistant for medical support lines.",
    no_args_is_help=True,
    add_completion=False,
    # Plain click help: typer's rich panels label every flag, even --help, with "<bool>".
    rich_markup_mode=None,
)

# Each module defines ``register(cli: typer.Typer) -> None``. Heavy imports stay inside
# the command functions so that ``carecue --help`` is instant.
_COMMANDS = (simulate, demo, transcribe, serve, token, playbook, classify, contract, models)


def _version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("carecue")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"carecue {_version()}")
        raise typer.Exit()


@cli.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True,
        help="Print the CareCue version and exit.",
    ),
) -> None:
    """CareCue: real-time empathy assistant for medical support lines."""


@cli.command()
def version() -> None:
    """Print the CareCue version."""
    typer.echo(_version())


def main() -> None:
    for module in _COMMANDS:
        module.register(cli)
    cli()
