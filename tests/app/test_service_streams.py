"""Delivery semantics on scripted models: replay with since, supervisor view, escalation routing,
playbook updates, analytics, and bad audio closing its stream. (Stage failures and restarts
need no socket: tests/app/test_session.py drives the session in-process.)"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.app.service_helpers import (
    live,
    read_until,
    recv_json,
    tok,
    twilio_media,
    twilio_start,
    twilio_stop,
)


def test_reconnect_with_since_replays_exactly_what_was_missed(tmp_path: Path) -> None:
    with live(tmp_path) as s, ExitStack() as stack:
        agent = stack.enter_context(s.ws("/v1/agents/A1/events", tok("agent", "A1")))
        with s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
            tw.send(twilio_start("CA1", "A1"))
            tw.send(twilio_media(b"one"))
            first = read_until(agent, lambda e: e["type"] == "transcript.final")
            agent.close()  # the agent's connection drops
            tw.send(twilio_media(b"I'm terrified"))
            tw.send(twilio_media(b"two", "outbound"))
            tw.send(twilio_stop("CA1"))
        since = first[-1]["seq"]
        with s.ws(f"/v1/agents/A1/events?since={since}", tok("agent", "A1")) as again:
            rest = read_until(again, lambda e: e["type"] == "call.ended")
        with s.ws("/v1/supervisor/events?since=0", tok("supervisor")) as sup:
            everything = read_until(sup, lambda e: e["type"] == "call.ended")
    seen = [e for e in first + rest if e["type"] != "transcript.partial"]
    assert [e["seq"] for e in seen] == [e["seq"] for e in everything]
    assert {"I'm terrified", "two"} <= {e["data"].get("text") for e in rest}
    assert all(e["seq"] > since for e in rest)


def test_joining_mid_call_gets_the_call_so_far(tmp_path: Path) -> None:
    with live(tmp_path) as s:
        with s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
            tw.send(twilio_start("CA1", "A1"))
            tw.send(twilio_media(b"before the agent looked"))
            with s.ws("/v1/agents/A1/events", tok("agent", "A1")) as watcher:
                read_until(watcher, lambda e: e["type"] == "signals.updated")
            with s.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent:
                got = [recv_json(agent), recv_json(agent)]
                assert [e["type"] for e in got] == ["call.started", "transcript.final"]
                assert got[1]["data"]["text"] == "before the agent looked"
                tw.send(twilio_stop("CA1"))


def test_supervisor_sees_all_calls_and_escalations_agents_see_only_urgent(tmp_path: Path) -> None:
    with live(tmp_path) as s, ExitStack() as stack:
        sup = stack.enter_context(s.ws("/v1/supervisor/events", tok("supervisor")))
        a1 = stack.enter_context(s.ws("/v1/agents/A1/events", tok("agent", "A1")))
        a2 = stack.enter_context(s.ws("/v1/agents/A2/events", tok("agent", "A2")))
        with (
            s.ws("/v1/ingest/twilio", tok("ingest")) as c1,
            s.ws("/v1/ingest/twilio", tok("ingest")) as c2,
        ):
            c1.send(twilio_start("CA1", "A1", stream_sid="MZ1"))
            c2.send(twilio_start("CA2", "A2", stream_sid="MZ2"))
            c1.send(twilio_media(b"I want to kill myself", stream_sid="MZ1"))
            c2.send(twilio_media(b"refill please", stream_sid="MZ2"))
            c1.send(twilio_stop("CA1", stream_sid="MZ1"))
            c2.send(twilio_stop("CA2", stream_sid="MZ2"))
        got1 = read_until(a1, lambda e: e["type"] == "call.ended")
        got2 = read_until(a2, lambda e: e["type"] == "call.ended")
        everything: list[dict] = []
        ended: set[str] = set()
        while ended != {"CA1", "CA2"}:
            env = recv_json(sup)
            everything.append(env)
            if env["type"] == "call.ended":
                ended.add(env["call_id"])
        for ws in (sup, a1, a2):
            ws.close()
    assert {e["call_id"] for e in got1} == {"CA1"} and {e["call_id"] for e in got2} == {"CA2"}
    assert {e["call_id"] for e in everything} == {"CA1", "CA2"}
    esc = [e for e in everything if e["type"] == "escalation"]
    assert esc and esc[0]["data"]["severity"] == "urgent" and esc[0]["data"]["agent_id"] == "A1"
    assert any(e["type"] == "escalation" for e in got1)  # urgent: the agent sees it too
    assert not any(e["type"] == "nudge.created" for e in got2)


PLAYBOOK = """
name: tiny
rules:
  - id: say_hello
    title: Say hello
    suggestions: ["Hello there"]
    priority: info
    trigger:
      said: {speaker: caller, phrases: [hello]}
"""


def test_playbook_get_put_validated_and_used_by_new_calls(tmp_path: Path) -> None:
    with live(tmp_path) as s:
        admin = {"Authorization": f"Bearer {tok('admin')}"}
        r = httpx.get(f"{s.http}/v1/playbook", headers=admin)
        assert r.status_code == 200 and "acknowledge_concern" in r.text
        assert r.headers["content-type"].startswith("application/yaml")
        bad = httpx.put(
            f"{s.http}/v1/playbook", headers=admin, content="name: x\nrules: [{id: 1}]\n"
        )
        assert bad.status_code == 422
        assert bad.json()["detail"]["problems"][0]["line"] == 2
        sup = {"Authorization": f"Bearer {tok('supervisor')}"}
        assert httpx.put(f"{s.http}/v1/playbook", headers=sup, content=PLAYBOOK).status_code == 403
        ok = httpx.put(f"{s.http}/v1/playbook", headers=admin, content=PLAYBOOK)
        assert ok.status_code == 200 and ok.json()["rules"] == 1
        got = httpx.get(f"{s.http}/v1/playbook?format=json", headers=sup).json()
        assert got["playbook"]["name"] == "tiny" and got["version"] == ok.json()["version"]
        with s.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent:
            with s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send(twilio_start("CA1", "A1"))
                tw.send(twilio_media(b"well hello"))
                tw.send(twilio_stop("CA1"))
            got_events = read_until(agent, lambda e: e["type"] == "call.ended")
        started = got_events[0]
        assert started["data"]["playbook_version"] == ok.json()["version"]
        # The fake engine ignores rules; the version proves the new playbook was handed over.


def test_analytics_counts_feedback_per_rule(tmp_path: Path) -> None:
    with live(tmp_path) as s:
        with s.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent:
            with s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send(twilio_start("CA1", "A1"))
                tw.send(twilio_media(b"I'm terrified"))
                n1 = read_until(agent, lambda e: e["type"] == "nudge.created")[-1]["data"]
                tw.send(twilio_media(b"still terrified"))
                n2 = read_until(agent, lambda e: e["type"] == "nudge.created")[-1]["data"]
                for nid, action in (
                    (n1["nudge_id"], "accepted"),
                    (n1["nudge_id"], "helpful"),
                    (n2["nudge_id"], "dismissed"),
                    (n2["nudge_id"], "not_helpful"),
                ):
                    agent.send(
                        json.dumps({"type": "nudge.feedback", "nudge_id": nid, "action": action})
                    )
                agent.send(
                    json.dumps({"type": "nudge.feedback", "nudge_id": "nope", "action": "accepted"})
                )
                err = read_until(agent, lambda e: e["type"] == "error")[-1]
                assert err["code"] == "unknown_nudge"
                tw.send(twilio_stop("CA1"))
            read_until(agent, lambda e: e["type"] == "call.ended")
        # After the call ended, a late rating is still stored.
        with s.ws("/v1/agents/A1/events?since=0", tok("agent", "A1")) as agent:
            agent.send(
                json.dumps(
                    {"type": "nudge.feedback", "nudge_id": n2["nudge_id"], "action": "helpful"}
                )
            )
            read_until(agent, lambda e: e["type"] == "call.ended")
        with s.ws("/v1/agents/A2/events?since=0", tok("agent", "A2")) as other:
            other.send(
                json.dumps(
                    {"type": "nudge.feedback", "nudge_id": n1["nudge_id"], "action": "helpful"}
                )
            )
            assert recv_json(other)["code"] == "unknown_nudge"  # not A2's nudge
        r = s.get("/v1/analytics/nudges", tok("supervisor")).json()
        rule = {x["rule_id"]: x for x in r["rules"]}["acknowledge-concern"]
        assert (rule["shown"], rule["accepted"], rule["dismissed"]) == (2, 1, 1)
        assert (rule["helpful"], rule["not_helpful"]) == (2, 0)
        assert rule["accept_rate"] == 0.5 and rule["helpful_rate"] == 1.0


def test_audio_that_is_not_the_declared_encoding_closes_that_stream_1007(
    tmp_path: Path,
) -> None:
    with live(tmp_path) as s, s.ws("/v1/ingest/twilio", tok("ingest")) as c1:
        c1.send(twilio_start("CA1", "A1", stream_sid="MZ1"))
        c1.send(twilio_media(b"GARBAGE", stream_sid="MZ1"))
        deadline = time.monotonic() + 20
        with pytest.raises(ConnectionClosed) as exc:
            while time.monotonic() < deadline:  # the next frame learns the stream is bad
                c1.send(twilio_media(b"more", stream_sid="MZ1"))
                time.sleep(0.05)
        assert exc.value.rcvd is not None and exc.value.rcvd.code == 1007
        assert exc.value.rcvd.reason == "garbage_audio"
