"""``carecue token create``: mint a signed token for an integrator, agent, supervisor or admin."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    token_app = typer.Typer(help="Create access tokens.", no_args_is_help=True)

    @token_app.command("create")
    def create(
        role: str = typer.Option(..., help="ingest, agent, supervisor or admin"),
        agent_id: str | None = typer.Option(None, "--agent-id", help="Required for --role agent"),
        ttl: float | None = typer.Option(None, help="Lifetime in seconds (default: no expiry)"),
        subject: str | None = typer.Option(None, help="Who the token is for (audit)"),
    ) -> None:
        """Print a token signed with CARECUE_AUTH_SECRET (or the data dir's secret)."""
        from app.auth import ROLES, TokenSigner, load_or_create_secret
        from app.settings import Settings

        if role not in ROLES:
            raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}", param_hint="--role")
        if role == "agent" and not agent_id:
            raise typer.BadParameter("an agent token needs --agent-id", param_hint="--agent-id")
        settings = Settings()
        signer = TokenSigner(load_or_create_secret(settings.auth_secret, settings.data_dir))
        typer.echo(signer.create(role, agent_id=agent_id, ttl_s=ttl, subject=subject))  # type: ignore[arg-type]

    cli.add_typer(token_app, name="token")
