"""``carecue token create | revoke | list-revoked``: mint, revoke and list access tokens."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from app.settings import Settings
    from app.store import Repository

# What a token id looks like (``jti``: base64url; ``h-...`` for a token minted before ids).
_TOKEN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def describe_lifetime(ttl_s: float | None) -> str:
    """``"12 h"``, ``"30 min"``, ``"45 s"``; ``"no expiry"`` for ``None``."""
    if ttl_s is None:
        return "no expiry"
    if ttl_s >= 86400 and ttl_s % 86400 == 0 and ttl_s > 86400:
        return f"{int(ttl_s // 86400)} days"
    if ttl_s >= 3600 and ttl_s % 3600 == 0:
        return f"{int(ttl_s // 3600)} h"
    if ttl_s >= 60 and ttl_s % 60 == 0:
        return f"{int(ttl_s // 60)} min"
    return f"{ttl_s:g} s"


def describe_expiry(expires_at: float | None) -> str:
    """``"expires 2026-11-30 08:00 UTC"``, or ``"never expires"``."""
    if expires_at is None:
        return "never expires"
    when = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"expires {when}"


def token_lifetime(role: str, ttl: float | None) -> float | None:
    """The lifetime a token of ``role`` gets for ``--ttl`` (``None``: the role's default).

    People's tokens (agent, supervisor, admin) always expire, within
    ``MAX_PERSON_TOKEN_TTL_S``; only an ingest token may be made not to expire (``--ttl 0``).
    Raises ``ValueError`` with the reason otherwise.
    """
    from app.settings import MAX_PERSON_TOKEN_TTL_S, TOKEN_TTL_DEFAULTS_S

    if ttl is None:
        return float(TOKEN_TTL_DEFAULTS_S[role])
    if role == "ingest":
        return ttl or None
    if ttl <= 0 or ttl > MAX_PERSON_TOKEN_TTL_S:
        raise ValueError(
            f"{role} tokens must expire: --ttl between 1 and {MAX_PERSON_TOKEN_TTL_S} s "
            f"({describe_lifetime(MAX_PERSON_TOKEN_TTL_S)})"
        )
    return ttl


def open_repository(settings: Settings) -> Repository:
    """The deployment's database (migrated to head), for commands run beside the server."""
    from app.store import Repository
    from app.store.db import make_engine, run_migrations

    engine = make_engine(settings.resolved_database_url())
    run_migrations(engine)
    return Repository(engine)


def register(cli: typer.Typer) -> None:
    token_app = typer.Typer(
        help="Create, revoke and list access tokens.", no_args_is_help=True,
        rich_markup_mode=None,
    )

    @token_app.command("create")
    def create(
        role: str = typer.Option(..., help="ingest, agent, supervisor or admin"),
        agent_id: str | None = typer.Option(None, "--agent-id", help="Required for --role agent"),
        ttl: float | None = typer.Option(
            None, min=0,
            help="Lifetime in seconds. Default: 12 h for agent, supervisor and admin tokens "
            "(at most 31 days), 90 days for ingest tokens (0 = no expiry, ingest only)",
        ),
        subject: str | None = typer.Option(None, help="Who the token is for (audit)"),
    ) -> None:
        """Print a token signed with CARECUE_AUTH_SECRET (or the data dir's secret).

        The token alone goes to standard output; its role, lifetime and id (what
        ``carecue token revoke`` takes) go to standard error.
        """
        from app.auth import ROLES, TokenSigner, load_or_create_secret
        from app.settings import Settings

        if role not in ROLES:
            raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}", param_hint="--role")
        if role == "agent" and not agent_id:
            raise typer.BadParameter("an agent token needs --agent-id", param_hint="--agent-id")
        try:
            ttl_s = token_lifetime(role, ttl)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--ttl") from exc
        settings = Settings()
        signer = TokenSigner(load_or_create_secret(settings.auth_secret, settings.data_dir))
        token = signer.create(role, agent_id=agent_id, ttl_s=ttl_s, subject=subject)
        claims = signer.decode(token)
        who = f" for agent {agent_id}" if agent_id else ""
        typer.echo(
            f"{role} token{who}, lifetime: {describe_lifetime(ttl_s)} "
            f"({describe_expiry(claims.expires_at)}), id: {claims.token_id}",
            err=True,
        )
        typer.echo(token)

    @token_app.command("revoke")
    def revoke(
        token_or_id: str = typer.Argument(
            ...,
            help="The token, or its id (printed by create); put -- before an id that starts with -",
        ),
        reason: str | None = typer.Option(None, help="Why (kept with the revocation)"),
    ) -> None:
        """Revoke a token: every CareCue instance on this database refuses it.

        Running servers reload revocations every CARECUE_REVOCATION_REFRESH_S (10 s): new
        connections are refused from then on, and open agent and supervisor sockets of the
        token are closed (1008 token_revoked).
        """
        from app.auth import AuthError, TokenSigner, load_or_create_secret
        from app.settings import Settings

        settings = Settings()
        value = token_or_id.strip()
        expires: datetime | None = None
        role = agent = subject = None
        if value.count(".") == 2:
            signer = TokenSigner(load_or_create_secret(settings.auth_secret, settings.data_dir))
            try:
                claims = signer.decode(value)
            except AuthError as exc:
                if exc.code == "token_expired":
                    typer.echo("that token has expired already; nothing to revoke", err=True)
                    return
                typer.echo(
                    f"error: not a token of this deployment ({exc.message}); check "
                    "CARECUE_AUTH_SECRET / CARECUE_DATA_DIR, or pass the token's id",
                    err=True,
                )
                raise typer.Exit(2) from exc
            assert claims.token_id is not None
            token_id = claims.token_id
            role, agent, subject = claims.role, claims.agent_id, claims.subject
            if claims.expires_at is not None:
                expires = datetime.fromtimestamp(claims.expires_at, UTC)
        elif _TOKEN_ID.match(value):
            token_id = value
        else:
            raise typer.BadParameter(
                "give a token (cc1.….…) or a token id (letters, digits, - and _)",
                param_hint="TOKEN_OR_ID",
            )
        repo = open_repository(settings)
        try:
            new = repo.revoke_token(
                token_id, expires_at=expires, role=role, agent_id=agent, subject=subject,
                reason=reason,
            )
        finally:
            repo.engine.dispose()
        what = f"{role} token" if role else "token"
        if agent:
            what += f" for agent {agent}"
        if not new:
            typer.echo(f"{what} {token_id} was revoked already", err=True)
            return
        refresh = describe_lifetime(settings.revocation_refresh_s)
        typer.echo(
            f"revoked {what} {token_id}; running servers refuse it within {refresh}", err=True
        )

    @token_app.command("list-revoked")
    def list_revoked(
        all_: bool = typer.Option(
            False, "--all", help="Also revocations of tokens that have expired since"
        ),
        prune: bool = typer.Option(
            False, "--prune", help="First delete revocations of tokens that have expired"
        ),
    ) -> None:
        """List revoked tokens (id, when, role, agent, expiry, reason), newest first."""
        from app.settings import Settings

        repo = open_repository(Settings())
        try:
            if prune:
                typer.echo(f"pruned {repo.prune_token_revocations()} expired", err=True)
            rows = repo.token_revocations()
        finally:
            repo.engine.dispose()
        now = time.time()
        shown = 0
        for r in rows:
            exp = r["expires_at"]
            if not all_ and exp is not None and datetime.fromisoformat(
                exp.replace("Z", "+00:00")
            ).timestamp() <= now:
                continue
            shown += 1
            typer.echo("\t".join([
                r["token_id"], r["revoked_at"] or "", r["role"] or "-", r["agent_id"] or "-",
                exp or "no expiry", r["reason"] or "",
            ]))
        if not shown:
            typer.echo("no revoked tokens", err=True)

    cli.add_typer(token_app, name="token")
