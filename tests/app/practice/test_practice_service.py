"""Practice calls through a real service on fakes: the websocket protocol, the branch taken from
the trainee's answer, the stored call, the microphone path over the native ingest with a token
scoped to the one call, and access checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.app.service_helpers import (
    live,
    read_until,
    recv_json,
    tok,
    twilio_media,
    twilio_start,
    twilio_stop,
)


def _until(ws: Any, kind: str, limit: int = 50) -> dict[str, Any]:
    for _ in range(limit):
        msg = recv_json(ws, 30)
        if msg["type"] == kind:
            return msg
        assert msg["type"] != "error", msg
    raise AssertionError(f"no {kind} message")


def _practise(server: Any, token: str, scenario: str, replies: list[str]) -> list[dict[str, Any]]:
    """Take a typed practice call; return every message the server sent."""
    seen: list[dict[str, Any]] = []
    with server.ws("/v1/practice/session", token) as ws:
        ws.send(json.dumps({"type": "begin", "scenario_id": scenario, "mode": "text"}))
        pending = list(replies)
        while True:
            msg = recv_json(ws, 30)
            seen.append(msg)
            assert msg["type"] != "error", msg
            if msg["type"] == "your_turn":
                ws.send(json.dumps({"type": "reply", "text": pending.pop(0)}))
            if msg["type"] == "ended":
                return seen


@pytest.fixture()
def server(tmp_path: Path) -> Any:
    with live(tmp_path, practice_voice=False, practice_pace=0, practice_turn_gap_s=0.5) as s:
        yield s


def test_scenarios_are_listed_without_patient_lines(server: Any) -> None:
    resp = server.get("/v1/practice/scenarios", tok("agent", "T1"))
    assert resp.status_code == 200
    body = resp.json()
    ids = {s["id"] for s in body["scenarios"]}
    assert {"biopsy_wait", "caller_at_risk", "grief", "billing_anger"} <= ids
    assert len(ids) >= 8
    assert body["voice"] is False and "text-only" in body["voice_note"]
    assert "nobody has called me" not in json.dumps(body)  # no patient lines before the call
    assert server.get("/v1/practice/scenarios", tok("ingest")).status_code == 403


def test_the_patient_answers_an_acknowledgement_differently_from_a_passed_over_worry(
    server: Any,
) -> None:
    token = tok("agent", "T1")
    warm = _practise(server, token, "biopsy_wait", [
        "That sounds really frightening, waiting all this time with no news.",
        "You must be so worried, with your mum's history. Let me chase the lab for you now.",
        "Yes, by Thursday. And if you haven't heard, ring back and ask for me.",
    ])
    cold = _practise(server, token, "biopsy_wait", [
        "Can I have your date of birth and hospital number, please?",
        "I need your hospital number before I can look anything up.",
    ])
    warm_judged = [m for m in warm if m["type"] == "judged"]
    cold_judged = [m for m in cold if m["type"] == "judged"]
    assert warm_judged[0]["when"] == "acknowledgement"
    assert warm_judged[0]["sentence"]  # the words that counted are shown to the trainee
    assert cold_judged[0]["when"] is None
    warm_lines = [m["text"] for m in warm if m["type"] == "patient"]
    cold_lines = [m["text"] for m in cold if m["type"] == "patient"]
    assert warm_lines[0] == cold_lines[0]
    assert warm_lines[1] != cold_lines[1]
    assert "frightened" in cold_lines[1]  # passed over: she repeats the worry, more upset
    assert warm[-1]["path"] == ["opening", "opens_up", "calmer", "good_end"]
    assert cold[-1]["path"] == ["opening", "worry_again", "upset_end"]

    # the practice call is stored like a live one, in the trainee's name
    call_id = warm[-1]["call_id"]
    assert warm[-1]["review_url"] == f"/calls/{call_id}"
    detail = server.get(f"/v1/calls/{call_id}", token).json()
    assert detail["source"] == "practice" and detail["agent_id"] == "T1"
    assert detail["custom"]["practice"] == "biopsy_wait"
    speakers = [seg["speaker"] for seg in detail["transcript"]]
    assert speakers[:3] == ["caller", "agent", "caller"]
    assert detail["transcript"][1]["text"].startswith("That sounds really frightening")
    # another agent may not read the trainee's practice call
    assert server.get(f"/v1/calls/{call_id}", tok("agent", "T2")).status_code == 403


def test_the_crisis_scenario_branches_on_a_direct_safety_question(server: Any) -> None:
    asked = _practise(server, tok("agent", "T1"), "caller_at_risk", [
        "Tom, I want to ask you directly: are you thinking of ending your life?",
        "Thank you for telling me. Are you safe right now? I'm going to stay with you.",
    ])
    assert [m["when"] for m in asked if m["type"] == "judged"][0] == "safety_check"
    assert asked[-1]["path"][-1] == "accepts_help"
    missed = _practise(server, tok("agent", "T1"), "caller_at_risk", [
        "Sure, I can renew that. Which pharmacy do you use?",
    ])
    assert missed[-1]["path"] == ["opening", "withdraws"]


def test_a_bad_begin_closes_only_that_socket(server: Any) -> None:
    with server.ws("/v1/practice/session", tok("agent", "T1")) as ws:
        ws.send(json.dumps({"type": "begin", "scenario_id": "no_such_thing"}))
        err = recv_json(ws)
        assert err["code"] == "unknown_scenario"
    with server.ws("/v1/practice/session", tok("agent", "T1")) as ws:
        ws.send("[" * 1500)  # json.loads raises RecursionError here: it was a dropped socket
        assert recv_json(ws)["code"] == "malformed_json"
    with server.ws("/v1/practice/session", tok("ingest")) as ws:
        assert recv_json(ws)["code"] == "forbidden"
    # the service carries on
    assert _practise(server, tok("agent", "T1"), "isolation", [
        "I'm glad you reached out, Walter. That must be hard, the long days on your own.",
        "That must be hard, since your wife passed. You're not alone, we have a lunch club.",
        "It's at the community centre on Wednesdays; I'll post you the details.",
    ])[-1]["outcome"] == "finished"


def test_microphone_turns_arrive_through_the_native_ingest_with_a_call_scoped_token(
    server: Any,
) -> None:
    with server.ws("/v1/practice/session", tok("agent", "T1")) as ws:
        ws.send(json.dumps({"type": "begin", "scenario_id": "biopsy_wait", "mode": "voice"}))
        ready = _until(ws, "ready")
        ingest = ready["ingest"]
        call_id = ready["call_id"]
        assert ingest["start"]["tracks"] == ["agent"]

        # the scoped token streams no other call
        other = dict(ingest["start"], call_id="someone-elses-call")
        with server.ws(ingest["path"], ingest["token"]) as bad:
            bad.send(json.dumps(other))
            err = recv_json(bad)
            assert err["code"] == "forbidden"
        with server.ws(ingest["path"], tok("agent", "T1")) as bad:  # not an ingest token
            assert recv_json(bad)["code"] == "forbidden"

        with server.ws(ingest["path"], ingest["token"]) as mic:
            mic.send(json.dumps(ingest["start"]))
            assert recv_json(mic)["type"] == "started"
            assert _until(ws, "patient")["step"] == "opening"
            _until(ws, "your_turn")
            # the fake ASR hears each frame's bytes as one utterance
            mic.send(b"I'm so sorry you're going through this, it must be hard to wait.")
            judged = _until(ws, "judged")
            assert judged["when"] == "acknowledgement"
            assert _until(ws, "patient")["step"] == "opens_up"
            ws.send(json.dumps({"type": "hangup"}))
            ended = _until(ws, "ended")
            assert ended["outcome"] == "hung_up" and ended["call_id"] == call_id
    detail = server.get(f"/v1/calls/{call_id}", tok("supervisor")).json()
    assert [s["speaker"] for s in detail["transcript"]][:2] == ["caller", "agent"]


def _real_engine_components() -> Any:
    """The fakes' ASR and scorer with the real nudge engine (phrases and patterns, no model)."""
    from concurrent.futures import ThreadPoolExecutor

    from app.components import Components
    from nudges.engine import NudgeEngine
    from nudges.matching import PhraseMatcher
    from tests.app.fakes import KeywordScorer, TextTranscriber

    matcher = PhraseMatcher()

    def factory(settings: Any, metrics: Any) -> Components:
        return Components(
            make_transcriber=lambda speaker: TextTranscriber(speaker),  # type: ignore[arg-type,return-value]
            make_scorer=KeywordScorer,  # type: ignore[arg-type]
            make_engine=lambda pb, clock, prefix: NudgeEngine(pb, clock, matcher, prefix),
            model_executor=ThreadPoolExecutor(1),
            matcher=matcher,
        )

    return factory


def test_typed_replies_do_not_count_as_talking_over_the_patient(tmp_path: Path) -> None:
    """A typed reply starts after the line it answers: the real engine's talk-over rule
    ("Let them finish") must not fire on a practice call where nobody interrupted."""
    with live(tmp_path, components=_real_engine_components(), practice_voice=False,
              practice_pace=0) as server:
        token = tok("agent", "T1")
        seen = _practise(server, token, "billing_anger", [
            "I am going to need your account number before I can look at this bill.",
            "Our policy is that bills are payable within thirty days of the final notice.",
        ])
        call_id = seen[-1]["call_id"]
        detail = server.get(f"/v1/calls/{call_id}", token).json()
        segs = detail["transcript"]
        for prev, nxt in zip(segs, segs[1:], strict=False):
            assert nxt["start_s"] >= prev["end_s"] - 1e-3
        assert "let_them_finish" not in {n["rule_id"] for n in detail["nudges"]}


def test_a_microphone_stream_filed_under_another_agent_ends_the_practice_call(
    server: Any,
) -> None:
    with server.ws("/v1/practice/session", tok("agent", "T1")) as ws:
        ws.send(json.dumps({"type": "begin", "scenario_id": "grief", "mode": "voice"}))
        ingest = _until(ws, "ready")["ingest"]
        with server.ws(ingest["path"], ingest["token"]) as mic:
            mic.send(json.dumps(dict(ingest["start"], agent_id="T2")))
            assert recv_json(mic)["type"] == "started"
            err = recv_json(ws)
            assert err["type"] == "error" and err["code"] == "forbidden"


def test_judged_says_what_the_step_listened_for(server: Any) -> None:
    seen = _practise(server, tok("agent", "T1"), "biopsy_wait", [
        "That sounds really frightening, waiting all this time with no news.",
        "You must be so worried. Let me chase the lab for you now.",
        "Yes, by Thursday.",
    ])
    judged = [m for m in seen if m["type"] == "judged"]
    assert [m["listened_for"] for m in judged] == [["acknowledgement"], ["acknowledgement"], []]


def test_the_floor_never_shows_a_practice_call_or_its_escalation(server: Any) -> None:
    """A trainee's scripted crisis is not a live escalation: the supervisor's stream (live and
    resumed) leaves practice calls out, and still shows the real call after it."""
    with server.ws("/v1/supervisor/events", tok("supervisor")) as sup:
        missed = _practise(server, tok("agent", "T1"), "caller_at_risk", [
            "Sure, I can renew that. Which pharmacy do you use?",
        ])
        practice_id = next(m["call_id"] for m in missed if m["type"] == "ready")
        with server.ws("/v1/ingest/twilio", tok("ingest")) as c:
            c.send(twilio_start("CA9", "A1"))
            c.send(twilio_media(b"I want to kill myself"))
            c.send(twilio_stop("CA9"))
        live_seen = read_until(sup, lambda e: e["type"] == "call.ended")
    assert {e["call_id"] for e in live_seen} == {"CA9"}
    assert any(e["type"] == "escalation" for e in live_seen)
    with server.ws("/v1/supervisor/events?since=0", tok("supervisor")) as sup:
        resumed = read_until(sup, lambda e: e["type"] == "call.ended")
    assert {e["call_id"] for e in resumed} == {"CA9"}
    # the trainee's own review still has the practice call
    assert server.get(f"/v1/calls/{practice_id}", tok("agent", "T1")).status_code == 200


def test_a_live_call_may_not_take_a_practice_call_id(server: Any) -> None:
    start = {"type": "start", "call_id": "practice-0001", "agent_id": "A1",
             "encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1}
    with server.ws("/v1/ingest/stream", tok("ingest")) as ws:
        ws.send(json.dumps(start))
        err = recv_json(ws)
    assert err["code"] == "bad_call_id" and "practice" in err["message"]
    with server.ws("/v1/ingest/stream", tok("ingest")) as ws:  # any other id streams
        ws.send(json.dumps(dict(start, call_id="call-0001")))
        assert recv_json(ws)["type"] == "started"
