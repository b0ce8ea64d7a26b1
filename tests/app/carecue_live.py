"""A real CareCue server on a free port for end-to-end tests (not a test module).

Real models, real SQLite store, real uvicorn: the tests talk to it over HTTP and websockets
exactly as a browser or telephony platform would.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class LiveServer:
    base: str
    secret: str
    data_dir: Path

    def token(self, role: str, agent_id: str | None = None) -> str:
        from app.auth import TokenSigner

        return TokenSigner(self.secret).create(role, agent_id=agent_id)  # type: ignore[arg-type]

    def get(self, path: str, role: str = "supervisor") -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(role)}"}
        return httpx.get(f"{self.base}{path}", headers=headers, timeout=30)


@contextmanager
def live_server(data_dir: Path) -> Iterator[LiveServer]:
    """Start the service in a background thread; yields once ``/readyz`` answers 200."""
    from app.main import create_app
    from carecue_sim.demo import EmbeddedServer, embedded_settings, free_port, wait_ready

    port = free_port()
    secret = secrets.token_urlsafe(32)
    config = embedded_settings(data_dir, port, secret)
    server = EmbeddedServer(create_app(config), "127.0.0.1", port)
    server.start()
    try:
        base = config.base_url()
        if not asyncio.run(wait_ready(base, 600, lambda _msg: None)):
            raise RuntimeError("CareCue did not become ready")
        yield LiveServer(base=base, secret=secret, data_dir=data_dir)
    finally:
        server.stop()
