"""Database engine and migrations: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _private_file(path: Path) -> None:
    """The database holds transcripts: its folder is 0700 when we create it and the file
    0600 (SQLite gives its -wal and -shm files the database file's permissions)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


def make_engine(url: str) -> Engine:
    """Create the engine; for SQLite the file's folder is created and WAL is switched on."""
    parsed = make_url(url)
    # Statement parameters carry transcript text and reasons quoting the caller: a failed
    # write must never put them in an exception message or a log line.
    kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": True, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets REST readers run while the writer thread appends events.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    kwargs["pool_size"] = 5
    kwargs["max_overflow"] = 5
    return create_engine(url, **kwargs)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def run_migrations(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (run at start-up; idempotent)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
