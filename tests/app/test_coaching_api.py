"""Coaching replay API: a stored call's timeline and trainers' notes, with access checks on
every endpoint (the call's agent, supervisors and admins; other agents 403)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.app.service_helpers import live, recv_json, tok


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A finished practice call by agent T1 whose caller ends terrified (a nudge on the fakes)."""
    tmp = tmp_path_factory.mktemp("coaching")
    with live(tmp, practice_voice=False, practice_pace=0) as server:
        with server.ws("/v1/practice/session", tok("agent", "T1")) as ws:
            ws.send(json.dumps({"type": "begin", "scenario_id": "biopsy_wait", "mode": "text"}))
            replies = ["What's your date of birth?", "And your hospital number?"]
            while True:
                msg = recv_json(ws, 30)
                if msg["type"] == "your_turn":
                    ws.send(json.dumps({"type": "reply", "text": replies.pop(0)}))
                elif msg["type"] == "ended":
                    call_id = msg["call_id"]
                    break
        yield server, call_id


def _req(server: Any, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, f"{server.http}{path}",
                         headers={"Authorization": f"Bearer {token}"}, timeout=30, **kw)


def test_the_replay_timeline_holds_lines_and_nudges_in_live_order(stored: Any) -> None:
    server, call_id = stored
    resp = _req(server, "GET", f"/v1/calls/{call_id}/replay", tok("agent", "T1"))
    assert resp.status_code == 200
    body = resp.json()
    items = body["items"]
    times = [i["t_s"] for i in items]
    assert times == sorted(times)
    lines = [i for i in items if i["kind"] == "line"]
    assert [ln["speaker"] for ln in lines][:3] == ["caller", "agent", "caller"]
    assert lines[0]["text"].startswith("Hi. Sorry, I don't really know")
    nudges = [i for i in items if i["kind"] == "nudge"]
    assert nudges and nudges[0]["title"] == "Acknowledge their concern"
    # the nudge came after the caller's words that caused it
    terrified = next(ln for ln in lines if "terrified" in ln["text"])
    assert nudges[0]["t_s"] >= terrified["t_s"] - 0.5
    assert any(i["kind"] == "nudge_resolved" and i["how"] == "call_ended" for i in items)
    assert body["duration_s"] >= times[-1]
    assert body["notes"] == []


def test_notes_are_stored_with_the_call_and_guarded(stored: Any) -> None:
    server, call_id = stored
    base = f"/v1/calls/{call_id}/notes"
    trainer, owner, other = tok("supervisor"), tok("agent", "T1"), tok("agent", "T2")

    made = _req(server, "POST", base, trainer,
                json={"at_s": 3.5, "text": "Here: name the fear before asking for details."})
    assert made.status_code == 201
    note = made.json()
    assert note["at_s"] == 3.5 and note["author_role"] == "supervisor"
    mine = _req(server, "POST", base, owner, json={"at_s": 1.0, "text": "I rushed this bit."})
    assert mine.status_code == 201

    listed = _req(server, "GET", base, owner).json()["notes"]
    assert [n["text"] for n in listed] == ["I rushed this bit.",
                                           "Here: name the fear before asking for details."]
    replay = _req(server, "GET", f"/v1/calls/{call_id}/replay", owner).json()
    assert len(replay["notes"]) == 2

    # another agent: 403 everywhere; bad input 422; unknown call 404
    assert _req(server, "GET", base, other).status_code == 403
    assert _req(server, "GET", f"/v1/calls/{call_id}/replay", other).status_code == 403
    assert _req(server, "POST", base, other, json={"at_s": 1, "text": "x"}).status_code == 403
    assert _req(server, "DELETE", f"{base}/{note['note_id']}", other).status_code == 403
    assert _req(server, "POST", base, trainer, json={"at_s": -1, "text": "x"}).status_code == 422
    assert _req(server, "POST", base, trainer, json={"at_s": 1, "text": ""}).status_code == 422
    assert _req(server, "GET", "/v1/calls/nope/notes", trainer).status_code == 404
    assert _req(server, "GET", base, tok("ingest")).status_code == 403

    # the agent may not delete the trainer's note; the trainer may
    assert _req(server, "DELETE", f"{base}/{note['note_id']}", owner).status_code == 403
    assert _req(server, "DELETE", f"{base}/{note['note_id']}", trainer).status_code == 204
    assert _req(server, "DELETE", f"{base}/{note['note_id']}", trainer).status_code == 404
    assert [n["text"] for n in _req(server, "GET", base, owner).json()["notes"]] == [
        "I rushed this bit."]


@pytest.mark.parametrize("last_end_s", [12.3454, 12.3456, 12.3, 0.0004])
def test_the_timeline_ends_at_or_after_its_last_line(last_end_s: float) -> None:
    """Scrubbing to the end shows every line: the call's length never stops short of one.

    Rounding the length to the millisecond used to land below a line that ended within
    half a millisecond of it, and the page's slider (steps of 0.1 s) snapped below the rest.
    """
    from app.routes.coaching import build_timeline

    call = {
        "started_at": "2026-11-30T10:00:00+00:00",
        "ended_at": "2026-11-30T10:00:05+00:00",  # the last final arrived after the hang-up
        "transcript": [
            {"speaker": "caller", "text": "hello", "start_s": 0.0, "end_s": last_end_s / 2},
            {"speaker": "agent", "text": "bye", "start_s": 0.0, "end_s": last_end_s},
        ],
        "signals": [], "nudges": [], "escalations": [],
    }
    items, duration = build_timeline(call)
    assert duration >= max(i.t_s for i in items)
    assert duration >= 5.0
    assert duration - max(last_end_s, 5.0) < 0.001
