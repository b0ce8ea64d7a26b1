"""``carecue serve``: run the service with uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer


def register(cli: typer.Typer) -> None:
    @cli.command()
    def serve(
        host: str | None = typer.Option(None, help="Bind address (CARECUE_HOST)"),
        port: int | None = typer.Option(None, help="Port (CARECUE_PORT)"),
        data_dir: Path | None = typer.Option(None, help="Data folder (CARECUE_DATA_DIR)"),
        dev_token: bool = typer.Option(
            False, "--dev-token", help="Print an admin token and agent console link (local demo)"
        ),
    ) -> None:
        """Start the CareCue service (settings from CARECUE_* variables and .env)."""
        import uvicorn

        from app.auth import TokenSigner, load_or_create_secret
        from app.logging_setup import setup_logging
        from app.main import CareCueServer, create_app
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
        if settings.dev_token:
            signer = TokenSigner(load_or_create_secret(settings.auth_secret, settings.data_dir))
            token = signer.create("admin", subject="dev", ttl_s=7 * 24 * 3600)
            base = settings.base_url()
            typer.echo(f"dev admin token (7 days, local demo only): {token}", err=True)
            typer.echo(f"supervisor wallboard: {base}/supervisor?token={token}", err=True)
            typer.echo(
                f"agent console (any agent id): {base}/agent?agent_id=A1&token={token}", err=True
            )
        app = create_app(settings)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            ws_max_size=max(1 << 20, settings.max_frame_bytes * 2),
        )
        # Drains the ingest adapters on SIGTERM before uvicorn closes their sockets.
        CareCueServer(config, app).run()
