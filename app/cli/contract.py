"""``carecue contract``: the event sockets' messages, or their JSON Schema for client authors."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    cli.command()(contract)


def contract(
    json_schema: bool = typer.Option(
        False, "--json-schema", help="Print the JSON Schema (2020-12) of every message"
    ),
) -> None:
    """List the events on the agent and supervisor sockets (docs/contract.md explains them)."""
    from app.contract import EVENT_TYPES, json_schema_text

    if json_schema:
        typer.echo(json_schema_text())
        return
    width = max(len(name) for name in EVENT_TYPES)
    for name, (data, doc) in EVENT_TYPES.items():
        fields = ", ".join(data.model_fields)
        typer.echo(f"{name:<{width}}  {doc}\n{'':<{width}}  data: {fields}")
    typer.echo("\nThe agent sends nudge.feedback; errors are {type: error, code, message}.")
    typer.echo("carecue contract --json-schema prints the schema; docs/contract.md explains it.")
