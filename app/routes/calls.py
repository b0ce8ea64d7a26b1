"""Calls: list, detail, report. Agents see only their own calls.

Each read first waits for the store writer to catch up with what was published before the
request (``Store.flush``), so a client that just saw ``call.ended`` reads the whole call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Query

from app.auth import AnyPrincipal, Principal
from app.contract import CallDetail, CallList, CallReport
from app.deps import StoreDep
from app.report import build_report
from app.store import Store

router = APIRouter(prefix="/v1/calls", tags=["calls"])
# A bigger offset overflows the database's 64-bit integer (a 500 before this bound).
MAX_OFFSET = 1_000_000_000


async def load_call_row(store: Store, principal: Principal, call_id: str) -> dict[str, Any]:
    """The stored call as the repository returns it, after the 404 and access checks."""
    await store.flush()
    row = await asyncio.to_thread(store.repo.get_call, call_id)
    if row is None:
        raise HTTPException(404, detail={"code": "unknown_call", "message": "no such call"})
    if not principal.may_see_agent(str(row["agent_id"])):
        raise HTTPException(
            403, detail={"code": "forbidden", "message": "this call belongs to another agent"}
        )
    return dict(row)


async def _load_call(store: Store, principal: Principal, call_id: str) -> CallDetail:
    return CallDetail.model_validate(await load_call_row(store, principal, call_id))


@router.get("")
async def list_calls(
    store: StoreDep,
    principal: AnyPrincipal,
    agent_id: str | None = None,
    active: bool | None = Query(None, description="true: calls in progress; false: ended"),
    practice: bool | None = Query(
        None, description="true: trainees' practice calls only; false: real calls only"
    ),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> CallList:
    """Newest first. Agents get their own calls whatever ``agent_id`` says."""
    if principal.role == "agent":
        agent_id = principal.agent_id
    await store.flush()
    calls = await asyncio.to_thread(
        store.repo.list_calls,
        agent_id=agent_id,
        active=active,
        practice=practice,
        limit=limit,
        offset=offset,
    )
    return CallList.model_validate({"calls": calls})


@router.get("/{call_id}")
async def get_call(store: StoreDep, principal: AnyPrincipal, call_id: str) -> CallDetail:
    """Transcript, signals timeline, nudges, feedback and escalations of one call."""
    return await _load_call(store, principal, call_id)


@router.get("/{call_id}/report")
async def call_report(store: StoreDep, principal: AnyPrincipal, call_id: str) -> CallReport:
    """A summary for review: talk time, distress peaks, concerns, nudges and what became of them."""
    return build_report(await _load_call(store, principal, call_id))
