"""``carecue serve``: run the service with uvicorn, and tell a person where to go."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from app.settings import Settings


# The admin token ``serve --dev-token`` prints lasts a working day, not a week.
DEV_TOKEN_TTL_S = 12 * 3600


def serve_banner(
    settings: Settings,
    base: str,
    *,
    dev_token: str | None = None,
    env_prefix: str = "",
    dev_token_expires: float | None = None,
) -> str:
    """What ``carecue serve`` prints once it listens: the pages, and how to get a token.

    ``env_prefix`` goes in front of the suggested ``carecue token create`` commands (for
    instance ``CARECUE_DATA_DIR=...``) so that they sign with the secret this server uses.
    """
    from importlib.metadata import version

    from app.cli.token import describe_expiry, describe_lifetime
    from app.settings import DEFAULT_TOKEN_TTL_S

    where = "database at CARECUE_DATABASE_URL" if settings.database_url else "SQLite"
    lines = [
        f"CareCue {version('carecue')} is listening on {base}",
        f"  Home page:             {base}/",
    ]
    if dev_token:
        lines += [
            f"  Agent console (A1):    {base}/agent?agent_id=A1&token={dev_token}",
            f"  Supervisor wallboard:  {base}/supervisor?token={dev_token}",
            f"  Team view:             {base}/team?token={dev_token}",
        ]
    else:
        lines += [
            f"  Agent console:         {base}/agent?token=AGENT_TOKEN",
            f"  Supervisor wallboard:  {base}/supervisor?token=SUPERVISOR_TOKEN",
            f"  Team view:             {base}/team?token=SUPERVISOR_TOKEN",
        ]
    lines += [
        f"  API reference:         {base}/docs",
        f"  Readiness:             {base}/readyz (models load in the background)",
        f"  Data:                  {settings.data_dir} ({where}, auth secret)",
    ]
    if dev_token:
        lines += [
            f"The dev admin token above lasts {describe_lifetime(DEV_TOKEN_TTL_S)} "
            f"({describe_expiry(dev_token_expires)}); use it on this machine only.",
            "The pages move it out of the address bar; revoke it early with "
            f"{env_prefix}carecue token revoke TOKEN.",
        ]
    else:
        lifetime = describe_lifetime(DEFAULT_TOKEN_TTL_S)
        lines += [
            f"The pages need a token. Mint one on this machine (these last {lifetime}):",
            f"  {env_prefix}carecue token create --role agent --agent-id A1",
            f"  {env_prefix}carecue token create --role supervisor",
        ]
    lines.append("Ctrl-C stops the server.")
    return "\n".join(lines)


def register(cli: typer.Typer) -> None:
    @cli.command()
    def serve(
        host: str | None = typer.Option(None, help="Bind address (CARECUE_HOST)"),
        port: int | None = typer.Option(None, help="Port (CARECUE_PORT); 0 picks a free one"),
        data_dir: Path | None = typer.Option(None, help="Data folder (CARECUE_DATA_DIR)"),
        dev_token: bool = typer.Option(
            False, "--dev-token", help="Print an admin token and console links (local use only)"
        ),
    ) -> None:
        """Start the CareCue service (settings from CARECUE_* variables and .env).

        Once it listens it prints the addresses of the pages and how to get a token.
        """
        import uvicorn

        from app.auth import TokenSigner, load_or_create_secret
        from app.logging_setup import setup_logging
        from app.main import CareCueServer, create_app, port_in_use
        from app.settings import Settings

        overrides: dict[str, object] = {}
        if host is not None:
            overrides["host"] = host
        if port is not None:
            overrides["port"] = port
        if data_dir is not None:
            overrides["data_dir"] = data_dir
        if dev_token:
            overrides["dev_token"] = True
        settings = Settings(**overrides)  # type: ignore[arg-type]
        setup_logging(settings.log_level, settings.log_json)
        if settings.port and port_in_use(settings.host, settings.port):
            typer.echo(
                f"error: port {settings.port} on {settings.host} is in use; stop the other "
                "server or choose another port with --port N (--port 0 picks a free one)",
                err=True,
            )
            raise typer.Exit(2)
        from app.runtime import tune_process

        tune_process(settings)
        token: str | None = None
        token_expires: float | None = None
        if settings.dev_token:
            signer = TokenSigner(load_or_create_secret(settings.auth_secret, settings.data_dir))
            token = signer.create("admin", subject="dev", ttl_s=DEV_TOKEN_TTL_S)
            token_expires = signer.decode(token).expires_at
        env_prefix = ""
        if data_dir is not None and not settings.auth_secret:
            env_prefix = f"CARECUE_DATA_DIR={shlex.quote(str(data_dir))} "

        class _Server(CareCueServer):
            """Drains ingest on SIGTERM (CareCueServer) and prints the banner once bound."""

            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets=sockets)
                if not self.started:
                    return
                bound = settings.port
                for server in getattr(self, "servers", []):
                    for sock in server.sockets:
                        bound = int(sock.getsockname()[1])
                base = settings.model_copy(update={"port": bound}).base_url()
                typer.echo(serve_banner(
                    settings, base, dev_token=token, env_prefix=env_prefix,
                    dev_token_expires=token_expires,
                ))

        app = create_app(settings)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            ws_max_size=max(1 << 20, settings.max_frame_bytes * 2),
        )
        # Drains the ingest adapters on SIGTERM before uvicorn closes their sockets.
        _Server(config, app).run()
