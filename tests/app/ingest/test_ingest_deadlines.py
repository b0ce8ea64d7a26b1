"""Handshake and idle deadlines on every ingest protocol, against a real server (issue 15, High 6).

An ingest credential must not hold a call slot without sending audio: a socket silent before
its start, silent after it, feeding keep-alives only (Twilio ``connected``, ``mark``) or a
frame byte by byte (AudioSocket) is closed (``handshake_timeout`` / ``idle_timeout``, 1008;
a plain TCP close for AudioSocket), its call ends as ``timeout`` and its slot is free again.
The deadlines are short here (``CARECUE_INGEST_*_TIMEOUT_S``); nothing asserts how long a
close took, only that it happens.
"""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from app.components import Components
from app.ingest.audiosocket import KIND_SLIN_8K, encode_frame, uuid_frame
from app.ingest.settings import AdapterSettings, AgentMap
from app.main import create_app
from asr.transcriber import TranscriberConfig
from carecue_sim.audiohook import (
    AudioHookClientState,
    interleave,
    open_parameters,
    upgrade_headers,
)
from tests.app.fakes import TextTranscriber, fake_components
from tests.app.service_helpers import (
    Live,
    eventually,
    make_settings,
    recv_json,
    serving,
    tok,
    twilio_media,
    twilio_start,
)

API_KEY = "genesys-key"
SECRET = base64.b64encode(b"genesys client secret 32 bytes!!").decode()
ORG = "d7934305-0972-4844-938e-9060eef73d05"
AGENT = "A-dl"
DEADLINE_S = 1.0
PATHS = {
    "native": "/v1/ingest/stream",
    "twilio": "/v1/ingest/twilio",
    "fork": "/v1/ingest/fork",
    "vosk": "/v1/asr",
    "audiohook": "/v1/ingest/audiohook",
}
WS_PROTOCOLS = tuple(PATHS)


class _AsrTextTranscriber(TextTranscriber):
    """The scripted transcriber, plus what ``/v1/asr`` needs to build its own pipeline (the
    tests send it silence only, so the engine is never asked to decode)."""

    executor = ThreadPoolExecutor(1)
    engine = SimpleNamespace(name="silent", native_partials=False)
    config = TranscriberConfig()


def _components(settings: Any, metrics: Any) -> Components:
    components: Components = fake_components()(settings, metrics)
    components.make_transcriber = _AsrTextTranscriber  # type: ignore[assignment]
    return components


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    adapters = AdapterSettings(
        audiohook_api_keys={API_KEY: SECRET}, audiohook_reconnect_grace_s=DEADLINE_S,
        audiosocket_host="127.0.0.1", audiosocket_port=0,
        ingest_handshake_timeout_s=DEADLINE_S, ingest_idle_timeout_s=DEADLINE_S)
    app = create_app(make_settings(tmp_path_factory.mktemp("deadlines"), max_calls=4,
                                   adapters=adapters),
                     components_factory=_components)
    app.state.agent_map = AgentMap.from_obj({"default": AGENT})
    with serving(app) as server:
        yield server


def _connect(svc: Live, proto: str,
             state: AudioHookClientState | None = None) -> ClientConnection:
    if proto != "audiohook":
        return svc.ws(PATHS[proto], tok("ingest"))
    url = f"{svc.ws_base}{PATHS[proto]}"
    state = state or AudioHookClientState()
    headers = upgrade_headers(url, ORG, state.session_id, API_KEY, SECRET)
    return connect(url, additional_headers=headers, open_timeout=30)


def _start(proto: str, ws: ClientConnection, call_id: str,
           state: AudioHookClientState | None = None) -> None:
    """Start a call the protocol's way and send it one piece of audio."""
    if proto == "native":
        ws.send(json.dumps({"type": "start", "call_id": call_id, "agent_id": AGENT}))
        assert recv_json(ws)["type"] == "started"
        ws.send(b"hello there!")
    elif proto == "twilio":
        ws.send(twilio_start(call_id, AGENT, stream_sid=f"MZ{call_id}"))
        ws.send(twilio_media(b"hello there", stream_sid=f"MZ{call_id}"))
    elif proto == "fork":
        ws.send(json.dumps({"call_id": call_id, "agent_id": AGENT}))
        assert recv_json(ws)["data"]["type"] == "started"
        ws.send(b"hello there!")
    elif proto == "vosk":
        ws.send(bytes(1600))  # silence: the first audio is this protocol's start
        assert "partial" in recv_json(ws)
    else:
        assert state is not None
        ws.send(json.dumps(state.message("open", open_parameters(ORG, call_id, AGENT))))
        assert recv_json(ws)["type"] == "opened"
        ws.send(interleave(b"hello there!", bytes(12)))


def _expect_timeout(proto: str, ws: ClientConnection, code: str) -> None:
    """The protocol's error message, then close 1008."""
    msg = recv_json(ws, timeout=30)
    while proto == "vosk" and "partial" in msg:
        msg = recv_json(ws, timeout=30)
    if proto == "audiohook":
        assert msg["type"] == "disconnect" and msg["parameters"]["reason"] == "error", msg
        assert "within" in msg["parameters"]["info"]
    else:
        assert msg["type"] == "error" and msg["code"] == code, msg
        assert msg["message"]
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def _slots_free(svc: Live) -> None:
    calls = svc.app.state.calls
    assert eventually(calls.in_use, lambda n: n == 0, 10.0) == 0, calls.live_ids()


def _ended_as(svc: Live, call_id: str, reason: str) -> None:
    detail = eventually(  # the store writes behind the call
        lambda: svc.get(f"/v1/calls/{call_id}", tok("supervisor")).json(),
        lambda d: bool(d.get("ended_at")),
    )
    assert detail.get("end_reason") == reason, detail


@pytest.mark.parametrize("proto", WS_PROTOCOLS)
def test_silent_before_the_start_is_closed(svc: Live, proto: str) -> None:
    with _connect(svc, proto) as ws:
        _expect_timeout(proto, ws, "handshake_timeout")
    _slots_free(svc)


@pytest.mark.parametrize("proto", WS_PROTOCOLS)
def test_silent_after_the_start_is_closed_and_the_call_ends(svc: Live, proto: str) -> None:
    call_id = str(uuid.uuid4()) if proto == "audiohook" else f"idle-{proto}"
    state = AudioHookClientState()
    with _connect(svc, proto, state) as ws:
        _start(proto, ws, call_id, state)
        _expect_timeout(proto, ws, "idle_timeout")
    _slots_free(svc)
    if proto != "vosk":  # /v1/asr opens no call
        _ended_as(svc, call_id, "timeout")


def test_twilio_connected_messages_do_not_keep_an_unstarted_socket(svc: Live) -> None:
    """Unauthenticated until its start, a Twilio socket cannot live on ``connected``."""
    with svc.ws(PATHS["twilio"]) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(500):
                ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1"}))
                time.sleep(DEADLINE_S / 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_twilio_marks_alone_do_not_keep_a_started_socket(svc: Live) -> None:
    with svc.ws(PATHS["twilio"], tok("ingest")) as ws:
        _start("twilio", ws, "marks-only")
        with pytest.raises(ConnectionClosed) as closed:
            for i in range(500):
                ws.send(json.dumps({"event": "mark", "streamSid": "MZmarks-only",
                                    "mark": {"name": f"m{i}"}}))
                time.sleep(DEADLINE_S / 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    _slots_free(svc)
    _ended_as(svc, "marks-only", "timeout")


def test_a_paused_audiohook_session_that_pings_stays_open(svc: Live) -> None:
    """On hold Genesys sends no audio, only pings: the idle deadline counts those."""
    conversation = str(uuid.uuid4())
    state = AudioHookClientState()
    with _connect(svc, "audiohook", state) as ws:
        ws.send(json.dumps(state.message("open", open_parameters(ORG, conversation, AGENT))))
        state.saw(recv_json(ws))
        ws.send(interleave(bytes(160), bytes(160)))
        state.samples_sent += 160
        ws.send(json.dumps(state.message("paused")))
        for _ in range(8):  # several idle deadlines without audio, with room for a slow pong
            time.sleep(DEADLINE_S * 0.3)
            ws.send(json.dumps(state.message("ping")))
            pong = recv_json(ws)
            state.saw(pong)
            assert pong["type"] == "pong"
        ws.send(json.dumps(state.message("close", {"reason": "end"})))
        assert recv_json(ws)["type"] == "closed"
    _ended_as(svc, conversation, "end")


def test_dropped_audiohook_sessions_of_one_conversation_free_their_slots(svc: Live) -> None:
    """Issue 15 (High 4): two sessions of one conversation that dropped together were parked
    under one key; the first was never ended and held its slot until a restart."""
    conversation = str(uuid.uuid4())
    for _ in range(2):  # the second becomes "<conversation>:<session>"; both stay open
        state = AudioHookClientState()
        with _connect(svc, "audiohook", state) as ws:
            _start("audiohook", ws, conversation, state)
            ws.socket.shutdown(socket.SHUT_RDWR)  # dropped: no close message, no close frame
    _slots_free(svc)
    _ended_as(svc, conversation, "reconnect_timeout")


def _closed_by_server(sock: socket.socket, feed: bytes = b"") -> bool:
    """Feed ``feed`` one byte at a time until the server closes; ``True`` once it has."""
    sock.settimeout(DEADLINE_S / 4)
    for i in range(120):  # 30 s at most
        try:
            if sock.recv(1) == b"":
                return True
        except TimeoutError:
            pass
        except ConnectionResetError:
            return True
        if feed:
            try:
                sock.sendall(feed[i % len(feed) : i % len(feed) + 1])
            except OSError:
                return True
    return False


def test_audiosocket_without_a_uuid_is_closed(svc: Live) -> None:
    port = svc.app.state.audiosocket.ports[0]
    with socket.create_connection(("127.0.0.1", port), 10) as sock:
        assert _closed_by_server(sock)


@pytest.mark.parametrize("feed", ["silence", "partial_frame"])
def test_audiosocket_without_audio_after_the_uuid_is_closed(svc: Live, feed: str) -> None:
    """Silent after the UUID, or one frame fed a byte at a time that never completes."""
    port = svc.app.state.audiosocket.ports[0]
    call_id = str(uuid.uuid4())
    with socket.create_connection(("127.0.0.1", port), 10) as sock:
        sock.sendall(uuid_frame(call_id))
        sock.sendall(encode_frame(KIND_SLIN_8K, b"hello there!"))
        partial = encode_frame(KIND_SLIN_8K, bytes(320))[:-1] if feed == "partial_frame" else b""
        assert _closed_by_server(sock, partial)
    _slots_free(svc)
    _ended_as(svc, call_id, "timeout")


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_handshake_deadline_is_counted_from_connecting_whatever_arrives() -> None:
    from app.ingest.lifecycle import Deadline

    clock = _Clock()
    deadline = Deadline(10.0, 60.0, clock=clock)
    clock.now = 9.0
    deadline.progress()  # a keep-alive or half a frame before the start: no extension
    assert deadline.remaining() == pytest.approx(1.0)
    clock.now = 10.0
    assert deadline.remaining() == 0.0
    assert deadline.expired().code == "handshake_timeout"


def test_the_idle_deadline_restarts_with_each_piece_of_audio() -> None:
    from app.ingest.lifecycle import Deadline

    clock = _Clock()
    deadline = Deadline(10.0, 60.0, clock=clock)
    clock.now = 5.0
    deadline.started()
    assert deadline.remaining() == pytest.approx(60.0)
    clock.now = 50.0
    deadline.progress()
    clock.now = 100.0
    assert deadline.remaining() == pytest.approx(10.0)
    clock.now = 110.0
    error = deadline.expired()
    assert deadline.remaining() == 0.0 and error.code == "idle_timeout"
    assert error.close_code == 1008
