"""Routes for the agent console and supervisor wallboard (included by ``app.main``).

The pages hold no data: they take the token from ``?token=`` once (into sessionStorage, out of
the address bar), send it in the event socket's first message and in ``Authorization``
headers, so the files themselves are served without auth. Only the files listed below are
served, from this package's ``static`` folder.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from app.web import WEB_DIR

router = APIRouter(include_in_schema=False)

_HEADERS = {
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_ASSETS = {
    "common.js": "text/javascript",
    "agent.js": "text/javascript",
    "supervisor.js": "text/javascript",
    "home.js": "text/javascript",
    "style.css": "text/css",
}


@router.get("/")
async def home_page() -> FileResponse:
    """A landing page: links to the console, the wallboard, the API docs, and how to get a token."""
    return FileResponse(WEB_DIR / "index.html", media_type="text/html", headers=_HEADERS)


@router.get("/favicon.ico")
async def favicon_ico() -> FileResponse:
    return FileResponse(WEB_DIR / "favicon.ico", media_type="image/x-icon", headers=_HEADERS)


@router.get("/favicon.svg")
async def favicon_svg() -> FileResponse:
    return FileResponse(WEB_DIR / "favicon.svg", media_type="image/svg+xml", headers=_HEADERS)


@router.get("/agent")
async def agent_page() -> FileResponse:
    return FileResponse(WEB_DIR / "agent.html", media_type="text/html", headers=_HEADERS)


@router.get("/supervisor")
async def supervisor_page() -> FileResponse:
    return FileResponse(WEB_DIR / "supervisor.html", media_type="text/html", headers=_HEADERS)


@router.get("/web/{name}")
async def asset(name: str) -> FileResponse:
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(WEB_DIR / name, media_type=media_type, headers=_HEADERS)
