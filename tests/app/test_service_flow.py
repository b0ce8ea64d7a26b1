"""The service's plumbing on scripted fakes: ingest -> session -> bus -> agent socket -> store.

These run a real uvicorn server and real websocket clients; only the models are scripted
(``tests/app/fakes.py``). The same flows with the real ASR and classifier are in test_e2e_*.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.app.service_helpers import (
    eventually,
    live,
    read_until,
    recv_json,
    service,
    tok,
    twilio_media,
    twilio_start,
    twilio_stop,
)


def test_health_ready_and_metrics(tmp_path: Path) -> None:
    with live(tmp_path) as s:
        assert httpx.get(f"{s.http}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{s.http}/readyz").json()["ready"] is True
        m = httpx.get(f"{s.http}/metrics", params={"token": tok("supervisor")}).text
        assert "carecue_active_calls" in m and "carecue_speech_end_to_nudge_seconds" in m
        assert httpx.get(f"{s.http}/v1/calls").status_code == 401
        assert s.get("/v1/calls", "cc1.bogus.sig").status_code == 401
        assert s.get("/v1/analytics/nudges", tok("agent", "A1")).status_code == 403


def test_twilio_call_reaches_agent_and_store(tmp_path: Path) -> None:
    with live(tmp_path) as s:
        with s.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent:
            with s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send('{"event":"connected","protocol":"Call","version":"1.0.0"}')
                tw.send(twilio_start("CA1", "A1"))
                tw.send(twilio_media(b"hello I need my refill", "inbound"))
                tw.send(twilio_media(b"sure let me check", "outbound"))
                tw.send(twilio_media(b"I'm terrified about my results", "inbound"))
                got = read_until(agent, lambda e: e["type"] == "nudge.created")
                nudge = got[-1]
                assert nudge["data"]["rule_id"] == "acknowledge-concern"
                assert "terrified" in nudge["data"]["reason"]
                nid = nudge["data"]["nudge_id"]
                agent.send(
                    json.dumps({"type": "nudge.feedback", "nudge_id": nid, "action": "accepted"})
                )
                got += read_until(agent, lambda e: e["type"] == "nudge.resolved")
                assert got[-1]["data"]["how"] == "accepted"
                tw.send(twilio_stop("CA1"))
            got += read_until(agent, lambda e: e["type"] == "call.ended")
        seqs = [e["seq"] for e in got]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        types = [e["type"] for e in got]
        assert types[0] == "call.started" and "signals.updated" in types
        finals = [e["data"] for e in got if e["type"] == "transcript.final"]
        assert {(f["speaker"], f["text"]) for f in finals} >= {
            ("caller", "I'm terrified about my results"),
            ("agent", "sure let me check"),
        }
        detail = s.get("/v1/calls/CA1", tok("agent", "A1")).json()
        assert len(detail["transcript"]) == 3
        assert detail["nudges"][0]["resolved_how"] == "accepted"
        assert detail["feedback"][0]["action"] == "accepted"
        assert detail["ended_at"] is not None and detail["end_reason"] == "stop"
        assert s.get("/v1/calls/CA1", tok("agent", "A2")).status_code == 403
        assert s.get("/v1/calls", tok("agent", "A2")).json()["calls"] == []


def test_agent_token_cannot_open_another_agents_stream(tmp_path: Path) -> None:
    with live(tmp_path) as s:
        with s.ws("/v1/agents/A1/events", tok("agent", "A2")) as ws:
            err = recv_json(ws)
            assert err["type"] == "error" and err["code"] == "forbidden"
            with pytest.raises(ConnectionClosed) as exc:
                ws.recv(timeout=10)
            assert exc.value.rcvd is not None and exc.value.rcvd.code == 1008


def test_openapi_lists_the_api(tmp_path: Path) -> None:
    with live(tmp_path) as s:
        spec = httpx.get(f"{s.http}/openapi.json", params={"token": tok("agent", "A1")}).json()
        for path in (
            "/v1/calls",
            "/v1/calls/{call_id}",
            "/v1/calls/{call_id}/report",
            "/v1/playbook",
            "/v1/analytics/nudges",
            "/healthz",
            "/readyz",
        ):
            assert path in spec["paths"], path
        assert httpx.get(f"{s.http}/docs", params={"token": tok("admin")}).status_code == 200


def _response_schema(spec: dict[str, Any], path: str, status: str = "200") -> dict[str, Any]:
    content = spec["paths"][path]["get"]["responses"][status]["content"]
    ref = content["application/json"]["schema"].get("$ref", "")
    assert ref.startswith("#/components/schemas/"), (path, content)
    schema: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def test_openapi_shows_the_shape_of_every_answer(tmp_path: Path) -> None:
    """/docs is useful only when it says what comes back: each read route has a schema."""
    with service(tmp_path) as client:
        spec = client.get("/openapi.json", params={"token": tok("admin")}).json()
    detail = _response_schema(spec, "/v1/calls/{call_id}")
    assert {"transcript", "signals", "nudges", "feedback", "escalations"} <= set(
        detail["properties"]
    )
    assert "calls" in _response_schema(spec, "/v1/calls")["properties"]
    report = _response_schema(spec, "/v1/calls/{call_id}/report")
    assert {"talk_time_s", "distress", "nudges", "nudge_outcomes"} <= set(report["properties"])
    assert "rules" in _response_schema(spec, "/v1/analytics/nudges")["properties"]
    for status in ("200", "503"):
        assert "ready" in _response_schema(spec, "/readyz", status)["properties"]
    nudge = spec["components"]["schemas"]["NudgeRecord"]
    assert nudge["properties"]["priority"]["enum"] == ["info", "suggest", "urgent"]


def test_metrics_docs_and_openapi_need_a_token_health_does_not(tmp_path: Path) -> None:
    with live(tmp_path) as s:
        for path in ("/metrics", "/docs", "/openapi.json"):
            assert httpx.get(f"{s.http}{path}").status_code == 401, path
        agent = {"token": tok("agent", "A1")}
        assert httpx.get(f"{s.http}/metrics", params=agent).status_code == 403
        assert httpx.get(f"{s.http}/healthz").status_code == 200
    with live(tmp_path, metrics_public=True) as s:
        assert httpx.get(f"{s.http}/metrics").status_code == 200  # a scraper let in


def test_pages_carry_security_headers(tmp_path: Path) -> None:
    with live(tmp_path) as s:
        r = httpx.get(f"{s.http}/agent")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in r.headers  # plain http here
    with live(tmp_path, public_url="https://carecue.example.org") as s:
        r = httpx.get(f"{s.http}/healthz")
        assert r.headers["strict-transport-security"].startswith("max-age=")


def test_a_browser_socket_from_a_foreign_origin_is_refused(tmp_path: Path) -> None:
    from websockets.sync.client import connect

    with live(tmp_path, allowed_origins="https://console.example.org") as s:
        url = f"{s.ws_base}/v1/supervisor/events?token={tok('supervisor')}"
        with connect(url, origin="https://evil.example.com") as ws:  # type: ignore[arg-type]
            err = recv_json(ws)
            assert err["code"] == "bad_origin"
            with pytest.raises(ConnectionClosed) as exc:
                ws.recv(timeout=10)
            assert exc.value.rcvd is not None and exc.value.rcvd.code == 1008
        for ok in ("https://console.example.org", f"http://127.0.0.1:{s.port}", None):
            with connect(url, origin=ok) as ws:  # type: ignore[arg-type]
                with pytest.raises(TimeoutError):  # open and quiet: no error, no close
                    ws.recv(timeout=1.0)


def test_calls_over_the_limit_are_refused_with_1013(tmp_path: Path) -> None:
    with live(tmp_path, max_calls=1) as s:
        with s.ws("/v1/ingest/twilio", tok("ingest")) as first:
            first.send(twilio_start("CA1", "A1", stream_sid="MZ1"))
            first.send(twilio_media(b"hello", stream_sid="MZ1"))
            with s.ws("/v1/ingest/twilio", tok("ingest")) as second:
                second.send(twilio_start("CA2", "A1", stream_sid="MZ2"))
                err = recv_json(second)
                assert err["code"] == "at_capacity"
                with pytest.raises(ConnectionClosed) as exc:
                    second.recv(timeout=10)
                assert exc.value.rcvd is not None and exc.value.rcvd.code == 1013
            live_now = eventually(  # CA1's slot is taken before its call.started is queued
                lambda: s.get("/v1/calls?active=true", tok("supervisor")).json()["calls"],
                lambda calls: calls != [],
            )
            assert [c["call_id"] for c in live_now] == ["CA1"] and live_now[0]["active"]
            first.send(twilio_stop("CA1", stream_sid="MZ1"))
        calls = s.get("/v1/calls", tok("supervisor")).json()["calls"]
        assert [c["call_id"] for c in calls] == ["CA1"]


def test_odd_messages_on_the_agent_socket_get_errors_not_a_close(tmp_path: Path) -> None:
    with live(tmp_path) as s:
        with s.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent:
            for raw, code in (
                (b"\x00\x01", "unsupported_data"),
                ("not json", "malformed_json"),
                ('{"type":"hello"}', "unknown_message"),
                ('{"type":"nudge.feedback","nudge_id":"x","action":"love"}', "bad_feedback"),
                ('{"type":"nudge.feedback","nudge_id":"x","action":"helpful"}', "unknown_nudge"),
            ):
                agent.send(raw)
                assert recv_json(agent)["code"] == code
            with s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send(twilio_start("CA1", "A1"))
                tw.send(twilio_stop("CA1"))
            assert recv_json(agent)["type"] == "call.started"  # still open and live


def test_a_huge_offset_is_a_clear_422_not_a_500(tmp_path: Path) -> None:
    with live(tmp_path) as s:
        r = s.get("/v1/calls?offset=99999999999999999999999", tok("supervisor"))
        assert r.status_code == 422
        assert s.get("/v1/calls?offset=5", tok("supervisor")).status_code == 200


def test_nudge_ids_are_unique_across_calls_and_unknown_ones_get_a_clear_error(
    tmp_path: Path,
) -> None:
    with live(tmp_path) as s, s.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent:
        for call_id in ("CA-x", "CA-y"):
            with s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send(twilio_start(call_id, "A1", stream_sid=f"MZ{call_id}"))
                tw.send(twilio_media(b"I'm terrified", stream_sid=f"MZ{call_id}"))
                got = read_until(agent, lambda e: e["type"] == "nudge.created")
                tw.send(twilio_stop(call_id, stream_sid=f"MZ{call_id}"))
            read_until(agent, lambda e: e["type"] == "call.ended")
            assert got[-1]["data"]["nudge_id"] == f"{call_id}:n1"
        unknown = {"type": "nudge.feedback", "nudge_id": "CA-z:n1", "action": "accepted"}
        agent.send(json.dumps(unknown))
        err = recv_json(agent)
        assert (err["type"], err["code"]) == ("error", "unknown_nudge")
