"""``carecue models``: which model files this installation ships, and whether they are intact."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    cli.command()(models)


def models(
    verify: bool = typer.Option(
        False, "--verify", help="Check every file's SHA-256 as start-up does; exit 1 on a mismatch"
    ),
) -> None:
    """List the shipped models and where they are installed (docs/models.md says what each is)."""
    from app.model_files import SHIPPED, ModelFileError, package_dir, verify_model

    failed = False
    for model in SHIPPED.values():
        root = package_dir(model.package)
        where = str(root) if root else f"not installed (pip install {model.dist})"
        size_mb = sum(f.size for f in model.files) / 1e6
        line = f"{model.name:<20} {model.dist:<28} {size_mb:7.1f} MB  {where}"
        if verify and root is not None:
            try:
                verify_model(model)
                line += "  ok"
            except ModelFileError as exc:
                failed = True
                typer.echo(line + "  FAILED")
                typer.echo(f"  {exc}", err=True)
                continue
        typer.echo(line)
    if failed:
        raise typer.Exit(1)
