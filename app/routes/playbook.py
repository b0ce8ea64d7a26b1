"""The playbook: read it (supervisors), replace it (admins). New calls use the newest one."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from app.auth import AdminPrincipal, SupervisorPrincipal
from app.calls import PlaybookState
from app.contract import PlaybookSaved
from app.deps import CallsDep, StoreDep

router = APIRouter(prefix="/v1/playbook", tags=["playbook"])

_MAX_PLAYBOOK_BYTES = 512 * 1024


@router.get("", response_model=None)
async def get_playbook(
    calls: CallsDep, principal: SupervisorPrincipal, format: str = "yaml"
) -> Response | dict[str, Any]:
    """The current playbook as YAML (as last saved, comments kept), or ``?format=json``."""
    state = calls.playbook
    if state is None:  # only before start-up has loaded it
        raise HTTPException(503, detail={"code": "not_ready", "message": "no playbook loaded"})
    headers = {"X-Playbook-Version": str(state.version or 0)}
    if format == "json":
        return JSONResponse(
            {
                "version": state.version,
                "source": state.source,
                "playbook": state.playbook.model_dump(mode="json"),
            },
            headers=headers,
        )
    return Response(state.text, media_type="application/yaml", headers=headers)


@router.put(
    "",
    openapi_extra={
        "requestBody": {
            "content": {"application/yaml": {"schema": {"type": "string"}}},
            "required": True,
        }
    },
)
async def put_playbook(
    request: Request, calls: CallsDep, store: StoreDep, principal: AdminPrincipal
) -> PlaybookSaved:
    """Replace the playbook with the YAML (or JSON) body. Invalid: 422 with each located problem."""
    from nudges.playbook import PlaybookError, parse_playbook

    body = await request.body()
    if len(body) > _MAX_PLAYBOOK_BYTES:
        raise HTTPException(413, detail={"code": "too_big", "message": "playbook over 512 KiB"})
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(
            422, detail={"code": "invalid_playbook", "message": "body is not UTF-8"}
        ) from exc
    try:
        # off the event loop: a big playbook takes a while to validate
        pb = await asyncio.to_thread(parse_playbook, text, "PUT /v1/playbook")
    except PlaybookError as exc:
        raise HTTPException(
            422,
            detail={
                "code": "invalid_playbook",
                "message": str(exc),
                "problems": [
                    {"line": p.line, "path": p.path, "message": p.message} for p in exc.problems
                ],
            },
        ) from exc
    components = calls.components
    if components is not None:
        # Embed the new examples now, not in the first call that uses them.
        await asyncio.to_thread(components.prepare_playbook, pb)
    who = principal.subject or principal.role
    version = await asyncio.to_thread(store.repo.save_playbook, text, "api", who)
    calls.playbook = PlaybookState(pb, text, "api", version)
    return PlaybookSaved(version=version, rules=len(pb.rules), name=pb.name)
