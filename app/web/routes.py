"""Routes for the agent console, the supervisor wallboard and the after-call pages (call
review, agent scorecard, team view), included by ``app.main``.

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
    "review.js": "text/javascript",
    "call.js": "text/javascript",
    "scorecard.js": "text/javascript",
    "team.js": "text/javascript",
    "style.css": "text/css",
}
# Vendored libraries (see static/vendor/README.md), served from this package: never a CDN.
_VENDOR = {
    "chart.umd.min.js": "text/javascript",
    "chart.js.LICENSE.md": "text/markdown; charset=utf-8",
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


@router.get("/calls/{call_id}")
async def call_review_page(call_id: str) -> FileResponse:
    """A finished (or live) call's review; its data comes from ``/v1/calls/{id}/review``."""
    return FileResponse(WEB_DIR / "call.html", media_type="text/html", headers=_HEADERS)


@router.get("/agents/{agent_id}")
async def scorecard_page(agent_id: str) -> FileResponse:
    return FileResponse(WEB_DIR / "scorecard.html", media_type="text/html", headers=_HEADERS)


@router.get("/team")
async def team_page() -> FileResponse:
    return FileResponse(WEB_DIR / "team.html", media_type="text/html", headers=_HEADERS)


@router.get("/web/vendor/{name}")
async def vendor_asset(name: str) -> FileResponse:
    media_type = _VENDOR.get(name)
    if media_type is None:
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(WEB_DIR / "vendor" / name, media_type=media_type, headers=_HEADERS)


@router.get("/web/{name}")
async def asset(name: str) -> FileResponse:
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(WEB_DIR / name, media_type=media_type, headers=_HEADERS)
