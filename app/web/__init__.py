"""The agent console (``/agent``) and supervisor wallboard (``/supervisor``): static pages.

The pages hold no data: they read the token from ``?token=`` and open the authenticated
event websockets, so serving the files themselves needs no auth.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent / "static"

_HEADERS = {
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def mount_web(app: FastAPI) -> None:
    """Serve ``/agent``, ``/supervisor`` and their assets under ``/web``."""

    @app.get("/agent", include_in_schema=False)
    async def agent_page() -> FileResponse:
        return FileResponse(WEB_DIR / "agent.html", headers=_HEADERS)

    @app.get("/supervisor", include_in_schema=False)
    async def supervisor_page() -> FileResponse:
        return FileResponse(WEB_DIR / "supervisor.html", headers=_HEADERS)

    app.mount("/web", StaticFiles(directory=WEB_DIR, check_dir=True), name="web")
