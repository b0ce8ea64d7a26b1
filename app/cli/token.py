"""``carecue token create``: mint a signed token for an integrator, agent, supervisor or admin."""

from __future__ import annotations

import typer


def describe_lifetime(ttl_s: float | None) -> str:
    """``"12 h"``, ``"30 min"``, ``"45 s"``; ``"no expiry"`` for ``None``."""
    if ttl_s is None:
        return "no expiry"
    if ttl_s >= 3600 and ttl_s % 3600 == 0:
        return f"{int(ttl_s // 3600)} h"
    if ttl_s >= 60 and ttl_s % 60 == 0:
        return f"{int(ttl_s // 60)} min"
    return f"{ttl_s:g} s"


def register(cli: typer.Typer) -> None:
    token_app = typer.Typer(
        help="Create access tokens.", no_args_is_help=True, rich_markup_mode=None
    )

    @token_app.command("create")
    def create(
        role: str = typer.Option(..., help="ingest, agent, supervisor or admin"),
        agent_id: str | None = typer.Option(None, "--agent-id", help="Required for --role agent"),
        ttl: float | None = typer.Option(
            None, min=0,
            help="Lifetime in seconds; 0 = no expiry. Default: 12 h for agent and supervisor "
            "tokens, no expiry for ingest and admin tokens",
        ),
        subject: str | None = typer.Option(None, help="Who the token is for (audit)"),
    ) -> None:
        """Print a token signed with CARECUE_AUTH_SECRET (or the data dir's secret).

        The token alone goes to standard output; its role and lifetime go to standard error.
        """
        from app.auth import ROLES, TokenSigner, load_or_create_secret
        from app.settings import DEFAULT_TOKEN_TTL_S, Settings

        if role not in ROLES:
            raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}", param_hint="--role")
        if role == "agent" and not agent_id:
            raise typer.BadParameter("an agent token needs --agent-id", param_hint="--agent-id")
        ttl_s: float | None
        if ttl is None:
            ttl_s = DEFAULT_TOKEN_TTL_S if role in ("agent", "supervisor") else None
        else:
            ttl_s = ttl or None
        settings = Settings()
        signer = TokenSigner(load_or_create_secret(settings.auth_secret, settings.data_dir))
        token = signer.create(role, agent_id=agent_id, ttl_s=ttl_s, subject=subject)
        who = f" for agent {agent_id}" if agent_id else ""
        typer.echo(f"{role} token{who}, lifetime: {describe_lifetime(ttl_s)}", err=True)
        typer.echo(token)

    cli.add_typer(token_app, name="token")
