"""Shutdown mid-call persists the call; after a restart, seq continues and ``since`` replays
from the store's event log."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from app.main import create_app
from tests.app.fakes import fake_components
from tests.app.service_helpers import (
    Live,
    make_settings,
    read_until,
    tok,
    twilio_media,
    twilio_start,
    twilio_stop,
)


def _server(tmp: Path) -> Live:
    server = Live(create_app(make_settings(tmp), components_factory=fake_components()))
    server.start()
    return server


def test_restart_keeps_calls_and_replay(tmp_path: Path) -> None:
    first = _server(tmp_path)
    held = ExitStack()  # the telephony side of a call that is cut by the shutdown
    try:
        with first.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent:
            with first.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send(twilio_start("CA-old", "A1"))
                tw.send(twilio_media(b"I'm terrified"))
                tw.send(twilio_stop("CA-old"))
            before = read_until(agent, lambda e: e["type"] == "call.ended")
        # A call still streaming when the service stops.
        tw2 = held.enter_context(first.ws("/v1/ingest/twilio", tok("ingest")))
        tw2.send(twilio_start("CA-cut", "A1", stream_sid="MZcut"))
        tw2.send(twilio_media(b"words before the restart", stream_sid="MZcut"))
        with first.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent:
            read_until(agent, lambda e: e["type"] == "transcript.final")
    finally:
        first.stop()
        held.close()

    second = _server(tmp_path)
    try:
        cut = second.get("/v1/calls/CA-cut", tok("supervisor")).json()
        assert cut["ended_at"] is not None and cut["end_reason"] in ("shutdown", "disconnect")
        assert [t["text"] for t in cut["transcript"]] == ["words before the restart"]
        # Everything A1 saw before the restart comes back from the store, in order.
        with second.ws("/v1/agents/A1/events?since=0", tok("agent", "A1")) as agent:
            replay = read_until(
                agent, lambda e: e["call_id"] == "CA-cut" and e["type"] == "call.ended"
            )
            durable_before = [e["seq"] for e in before if e["type"] != "transcript.partial"]
            assert [e["seq"] for e in replay][: len(durable_before)] == durable_before
            with second.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send(twilio_start("CA-new", "A1", stream_sid="MZnew"))
                tw.send(twilio_stop("CA-new", stream_sid="MZnew"))
            new = read_until(agent, lambda e: e["type"] == "call.ended")
        # seq continues after the restart: a client's old "since" stays meaningful.
        assert min(e["seq"] for e in new) > max(e["seq"] for e in replay)
    finally:
        second.stop()
