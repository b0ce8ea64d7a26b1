"""Pages for coaching replay (``/calls/{call_id}/replay``) and practice mode (``/practice``).

Like the console, the pages hold no data: they read the token from ``?token=`` and call the
authenticated API (``/v1/calls/{id}/replay``, ``/v1/practice/...``), so the files are served
without auth. Their scripts and styles are under ``/web/coach/``.
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
    "replay.js": "text/javascript",
    "practice.js": "text/javascript",
    "coach.css": "text/css",
}


@router.get("/calls/{call_id}/replay")
async def replay_page(call_id: str) -> FileResponse:
    """Coaching replay of one stored call (the page asks the API, which checks access)."""
    return FileResponse(WEB_DIR / "replay.html", media_type="text/html", headers=_HEADERS)


@router.get("/practice")
async def practice_page() -> FileResponse:
    """Practice mode: a simulated patient call."""
    return FileResponse(WEB_DIR / "practice.html", media_type="text/html", headers=_HEADERS)


@router.get("/web/coach/{name}")
async def coach_asset(name: str) -> FileResponse:
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(WEB_DIR / name, media_type=media_type, headers=_HEADERS)
