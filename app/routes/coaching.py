"""Coaching replay: a stored call as a timeline, and trainers' notes at moments of it.

``GET /v1/calls/{call_id}/replay`` gives everything the replay page steps through, each item
stamped with ``t_s`` (seconds on the call's clock) when it appeared live: transcript lines as
their final arrived (``end_s``), distress readings, nudges shown and how each was resolved,
escalations. ``/notes`` lists, adds and deletes coaching notes (stored with the call).

Access is the call's: its own agent, supervisors and admins (another agent gets 403). The
agent may add notes too (a trainee's reflections on a practice call); a note can be deleted by
its author, a supervisor or an admin. Note text is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from app.auth import AnyPrincipal, Principal
from app.deps import StoreDep
from app.routes.calls import load_call_row

log = logging.getLogger("carecue.coaching")

router = APIRouter(prefix="/v1/calls", tags=["coaching"])

MAX_NOTE_CHARS = 2000


class TimelineItem(BaseModel):
    """One thing that happened live, at ``t_s``."""

    kind: Literal["line", "signal", "nudge", "nudge_resolved", "escalation"]
    t_s: float = Field(description="seconds since the call started, when it appeared live")
    speaker: str | None = None
    text: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    distress: float | None = None
    trend: str | None = None
    nudge_id: str | None = None
    rule_id: str | None = None
    title: str | None = None
    reason: str | None = None
    suggestion: str | None = None
    priority: str | None = None
    how: str | None = None
    severity: str | None = None


class Note(BaseModel):
    note_id: int
    call_id: str
    at_s: float = Field(description="the moment of the call the note is about (seconds)")
    text: str
    author: str
    author_role: str
    created_at: str


class NoteIn(BaseModel):
    at_s: float = Field(ge=0, le=86_400)
    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


class NoteList(BaseModel):
    notes: list[Note]


class Replay(BaseModel):
    call_id: str
    agent_id: str
    source: str
    started_at: str | None
    ended_at: str | None
    active: bool
    duration_s: float
    items: list[TimelineItem]
    notes: list[Note]


def _since(started: datetime | None, at: str | None) -> float | None:
    if started is None or not at:
        return None
    return (datetime.fromisoformat(at.replace("Z", "+00:00")) - started).total_seconds()


def build_timeline(call: dict[str, Any]) -> tuple[list[TimelineItem], float]:
    """The call's items in the order they appeared live, and the call's length."""
    started = (
        datetime.fromisoformat(call["started_at"].replace("Z", "+00:00"))
        if call.get("started_at") else None
    )
    items: list[TimelineItem] = []
    for seg in call["transcript"]:
        items.append(TimelineItem(kind="line", t_s=seg["end_s"], speaker=seg["speaker"],
                                  text=seg["text"], start_s=seg["start_s"], end_s=seg["end_s"]))
    for sig in call["signals"]:
        items.append(TimelineItem(kind="signal", t_s=sig["at_s"], distress=sig["distress"],
                                  trend=sig["trend"]))
    for n in call["nudges"]:
        items.append(TimelineItem(
            kind="nudge", t_s=n["at_s"], nudge_id=n["nudge_id"], rule_id=n["rule_id"],
            title=n["title"], reason=n["reason"], suggestion=n["suggestion"],
            priority=n["priority"],
        ))
        resolved = _since(started, n.get("resolved_at"))
        if n.get("resolved_how") and resolved is not None:
            items.append(TimelineItem(kind="nudge_resolved", t_s=max(resolved, n["at_s"]),
                                      nudge_id=n["nudge_id"], rule_id=n["rule_id"],
                                      how=n["resolved_how"]))
    for e in call["escalations"]:
        at = _since(started, e.get("at"))
        if at is not None:
            items.append(TimelineItem(kind="escalation", t_s=at, nudge_id=e["nudge_id"],
                                      rule_id=e["rule_id"], severity=e["severity"],
                                      reason=e["reason"]))
    order = {"line": 0, "signal": 1, "nudge": 2, "escalation": 3, "nudge_resolved": 4}
    items.sort(key=lambda i: (round(i.t_s, 3), order[i.kind]))
    ended = _since(started, call.get("ended_at"))
    last = max((i.t_s for i in items), default=0.0)
    duration = max(last, ended if ended is not None else 0.0)
    # Rounded up: the end of the timeline must show the last item, never stop just before it.
    return items, math.ceil(duration * 1000 - 1e-6) / 1000


def _author(principal: Principal) -> str:
    return principal.agent_id or principal.subject or principal.role


@router.get("/{call_id}/replay", response_model=Replay)
async def call_replay(store: StoreDep, principal: AnyPrincipal, call_id: str) -> Replay:
    """The stored call as a timeline for coaching replay, with its notes."""
    call = await load_call_row(store, principal, call_id)
    items, duration = build_timeline(call)
    notes = await asyncio.to_thread(store.repo.list_notes, call_id)
    return Replay(
        call_id=call["call_id"], agent_id=call["agent_id"], source=call["source"],
        started_at=call["started_at"], ended_at=call["ended_at"], active=call["active"],
        duration_s=duration, items=items, notes=[Note(**n) for n in notes],
    )


@router.get("/{call_id}/notes", response_model=NoteList)
async def list_notes(store: StoreDep, principal: AnyPrincipal, call_id: str) -> NoteList:
    """A call's coaching notes, by moment."""
    await load_call_row(store, principal, call_id)
    notes = await asyncio.to_thread(store.repo.list_notes, call_id)
    return NoteList(notes=[Note(**n) for n in notes])


@router.post("/{call_id}/notes", response_model=Note, status_code=201)
async def add_note(store: StoreDep, principal: AnyPrincipal, call_id: str,
                   body: NoteIn) -> Note:
    """Add a note at ``at_s`` seconds into the call."""
    await load_call_row(store, principal, call_id)
    text = body.text.strip()
    if not text:
        raise HTTPException(422, detail={"code": "empty_note", "message": "the note is empty"})
    note = await asyncio.to_thread(
        store.repo.add_note, call_id, body.at_s, text, _author(principal),
        principal.role,
    )
    log.info("coaching note added",
             extra={"call_id": call_id, "note_id": note["note_id"], "chars": len(text)})
    return Note(**note)


@router.delete("/{call_id}/notes/{note_id}", status_code=204)
async def delete_note(store: StoreDep, principal: AnyPrincipal, call_id: str,
                      note_id: int) -> Response:
    """Delete a note: its author, a supervisor or an admin."""
    await load_call_row(store, principal, call_id)
    repo = store.repo
    note = await asyncio.to_thread(repo.get_note, call_id, note_id)
    if note is None:
        raise HTTPException(404, detail={"code": "unknown_note", "message": "no such note"})
    if not principal.sees_all_calls and note["author"] != _author(principal):
        raise HTTPException(403, detail={"code": "forbidden",
                                         "message": "only its author or a supervisor"})
    await asyncio.to_thread(repo.delete_note, call_id, note_id)
    return Response(status_code=204)
