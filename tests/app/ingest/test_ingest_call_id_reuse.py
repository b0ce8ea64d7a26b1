"""A platform that opens a call under an id whose call has already ended, through the real
service and store (SQLite, and PostgreSQL when ``CARECUE_TEST_POSTGRES_URL`` is set).

Asterisk AudioSocket's late leg is the known case: a leg that arrives after its call's
``CARECUE_AUDIOSOCKET_LEG_GRACE_S`` starts a new call under the same UUID. A Twilio stream
started again in the same call (same ``callSid``) and a native stream that names an ended
call's id do the same. The new call is recorded as its own call, ``<id>:2``; the ended call's
record (times, transcript, nudges) stays as it was, and no write to the store fails.

Only the models are scripted (``tests/app/fakes.py``: each frame's bytes are one utterance).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from app.ingest.audiosocket import KIND_HANGUP, KIND_SLIN_8K, encode_frame, uuid_frame
from app.ingest.settings import AdapterSettings, AgentMap
from app.main import create_app
from tests.app.fakes import fake_components
from tests.app.service_helpers import (
    Live,
    make_settings,
    read_until,
    recv_json,
    serving,
    tok,
    twilio_media,
    twilio_start,
    twilio_stop,
)
from tests.app.store_backends import database_url

CALL = "40325ec2-5efd-4bd3-805f-53576e581d13"
FIRST_WORDS = "I'm terrified about my biopsy"
LATE_WORDS = "I'm terrified the scan shows more"


@pytest.fixture(params=["sqlite", "postgres"])
def svc(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    with database_url(request.param, tmp_path) as url:
        adapters = AdapterSettings(audiosocket_host="127.0.0.1", audiosocket_port=0,
                                   audiosocket_leg_grace_s=0.05)
        app = create_app(make_settings(tmp_path / "data", adapters=adapters, database_url=url),
                         components_factory=fake_components())
        app.state.agent_map = AgentMap(default="A1")
        with serving(app) as server:
            yield server


def _say(text: str) -> bytes:
    """One utterance for the fakes, as a whole number of 16-bit samples."""
    data = text.encode()
    return encode_frame(KIND_SLIN_8K, data + b" " * (len(data) % 2))


def _hang_up(leg: socket.socket) -> None:
    leg.sendall(encode_frame(KIND_HANGUP))
    assert leg.recv(10) == b""  # the server closes after hangup, without an 0xff frame
    leg.close()


def _calls(svc: Live, sup: str) -> dict[str, dict[str, Any]]:
    return {c["call_id"]: c for c in svc.get("/v1/calls", sup).json()["calls"]}


def _record(svc: Live, sup: str, call_id: str) -> dict[str, Any]:
    response = svc.get(f"/v1/calls/{call_id}", sup)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _check_two_calls(svc: Live, sup: str, first_id: str, second_id: str,
                     first_before: dict[str, Any]) -> None:
    """The ended call's record is as it was; the second is its own call; nothing lost."""
    first = _record(svc, sup, first_id)
    second = _record(svc, sup, second_id)
    assert first == first_before
    assert [s["text"] for s in second["transcript"]] == [LATE_WORDS]
    assert [n["nudge_id"] for n in second["nudges"]] == [f"{second_id}:n1"]
    assert "more" in second["nudges"][0]["reason"]
    assert second["ended_at"] is not None and second["started_at"] >= first["ended_at"]
    listed = _calls(svc, sup)
    assert sorted(listed) == sorted([first_id, second_id])
    assert [listed[i]["nudge_count"] for i in (first_id, second_id)] == [1, 1]
    assert svc.app.state.store.write_errors == 0


def test_audiosocket_leg_after_the_grace_is_its_own_call(svc: Live) -> None:
    port = svc.app.state.audiosocket.ports[0]
    sup = tok("supervisor")
    with svc.ws("/v1/supervisor/events", sup) as floor:
        caller = socket.create_connection(("127.0.0.1", port), 10)
        caller.sendall(uuid_frame(CALL) + _say(FIRST_WORDS))
        read_until(floor, lambda e: e["type"] == "nudge.created")
        _hang_up(caller)
        # No other leg within the grace: the call ends with its one leg.
        read_until(floor, lambda e: e["type"] == "call.ended")
        first_before = _record(svc, sup, CALL)
        assert [s["text"] for s in first_before["transcript"]] == [FIRST_WORDS]

        late = socket.create_connection(("127.0.0.1", port), 10)
        late.sendall(uuid_frame(CALL) + _say(LATE_WORDS))
        events = read_until(floor, lambda e: e["type"] == "nudge.created")
        assert {e["call_id"] for e in events} == {f"{CALL}:2"}
        # While it runs, the floor has it as a live call and the ended one stays ended.
        live = svc.get("/v1/calls?active=true", sup).json()["calls"]
        assert [c["call_id"] for c in live] == [f"{CALL}:2"]
        assert _record(svc, sup, CALL) == first_before
        _hang_up(late)
        events = read_until(floor, lambda e: e["type"] == "call.ended")
        assert events[-1]["call_id"] == f"{CALL}:2"
    _check_two_calls(svc, sup, CALL, f"{CALL}:2", first_before)


def _wait_for_close(ws: Any) -> None:
    """Twilio gets no reply to ``stop``; the server closes the stream once the call has ended.
    Closing from our side first would return before the server has even read the frames."""
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=30)


def test_twilio_stream_started_again_in_an_ended_call_is_its_own_call(svc: Live) -> None:
    sup = tok("supervisor")
    with svc.ws("/v1/ingest/twilio", tok("ingest")) as tw:
        tw.send(twilio_start("CA-again", "A1"))
        tw.send(twilio_media(FIRST_WORDS.encode()))
        tw.send(twilio_stop("CA-again"))
        _wait_for_close(tw)
    first_before = _record(svc, sup, "CA-again")
    assert first_before["ended_at"] is not None
    with svc.ws("/v1/supervisor/events", sup) as floor:
        with svc.ws("/v1/ingest/twilio", tok("ingest")) as tw:
            tw.send(twilio_start("CA-again", "A1", stream_sid="MZ2"))
            tw.send(twilio_media(LATE_WORDS.encode(), stream_sid="MZ2"))
            tw.send(twilio_stop("CA-again", stream_sid="MZ2"))
            _wait_for_close(tw)
        started = read_until(floor, lambda e: e["type"] == "call.started")[-1]
    assert started["call_id"] == "CA-again:2"
    _check_two_calls(svc, sup, "CA-again", "CA-again:2", first_before)


def test_native_start_naming_an_ended_call_is_told_its_new_id(svc: Live) -> None:
    sup = tok("supervisor")
    start = {"type": "start", "call_id": "case-7", "agent_id": "A1", "encoding": "mulaw",
             "sample_rate": 8000, "channels": 1, "tracks": ["caller"]}
    answers = []
    for words in (FIRST_WORDS, LATE_WORDS):
        with svc.ws(f"/v1/ingest/stream?token={tok('ingest')}") as stream:
            stream.send(json.dumps(start))
            answers.append(recv_json(stream))
            stream.send(words.encode())
            stream.send(json.dumps({"type": "stop"}))
            recv_json(stream)
        if words == FIRST_WORDS:
            first_before = _record(svc, sup, "case-7")
    assert answers == [{"type": "started", "call_id": "case-7"},
                       {"type": "started", "call_id": "case-7:2"}]
    _check_two_calls(svc, sup, "case-7", "case-7:2", first_before)
