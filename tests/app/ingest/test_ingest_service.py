"""Each platform protocol through the real service (uvicorn, CallManager, bus, agent socket).

Only the models are scripted (``tests/app/fakes.py``: each pushed frame's bytes are read as the
text of one utterance), so these check the plumbing per protocol: message order, numbering,
framing and channel layout must be right for the agent to see who said what, and the nudge.
The same flows with the real ASR and classifier are in ``test_ingest_conformance.py``.
"""

from __future__ import annotations

import base64
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.ingest.audiosocket import KIND_HANGUP, KIND_SLIN_8K, encode_frame, uuid_frame
from app.ingest.settings import AdapterSettings, AgentMap
from app.main import create_app
from carecue_sim.audiohook import AudioHookClientState, open_parameters, upgrade_headers
from tests.app.fakes import fake_components
from tests.app.service_helpers import Live, make_settings, read_until, recv_json, serving, tok

API_KEY = "genesys-key"
SECRET = base64.b64encode(b"genesys client secret 32 bytes!!").decode()
ORG = "d7934305-0972-4844-938e-9060eef73d05"
AS_CALL = "40325ec2-5efd-4bd3-805f-53576e581d13"
AS_SIM_CALL = "9b3f7f0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
CALLER_SAYS = "I'm terrified about my biopsy results"
AGENT_SAYS = "can I have your date of birth please"


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    adapters = AdapterSettings(
        audiohook_api_keys={API_KEY: SECRET}, audiosocket_host="127.0.0.1", audiosocket_port=0)
    app = create_app(make_settings(tmp_path_factory.mktemp("svc"), adapters=adapters),
                     components_factory=fake_components())
    app.state.agent_map = AgentMap.from_obj(
        {"audiosocket": {"uuid": {AS_CALL: "A-as", AS_SIM_CALL: "A-sim-as"}}})
    with serving(app) as server:
        yield server


def _pair(caller: str, agent: str, width: int) -> tuple[bytes, bytes]:
    """Both utterances as equal-length byte strings (whole samples of ``width`` bytes)."""
    n = max(len(caller), len(agent))
    n += (-n) % width
    return caller.ljust(n).encode(), agent.ljust(n).encode()


def _interleave(a: bytes, b: bytes, width: int) -> bytes:
    x = np.frombuffer(a, np.uint8).reshape(-1, width)
    y = np.frombuffer(b, np.uint8).reshape(-1, width)
    return np.concatenate([x, y], axis=1).tobytes()


def _check_agent_view(events: list[dict[str, Any]], call_id: str) -> None:
    mine = [e for e in events if e.get("call_id") == call_id]
    assert mine[0]["type"] == "call.started"
    finals = {(e["data"]["speaker"], e["data"]["text"]) for e in mine
              if e["type"] == "transcript.final"}
    assert ("caller", CALLER_SAYS) in finals and ("agent", AGENT_SAYS) in finals
    nudges = [e for e in mine if e["type"] == "nudge.created"]
    assert nudges and "terrified" in nudges[0]["data"]["reason"]
    assert mine[-1]["type"] == "call.ended"


def test_audiohook_session_reaches_agent(svc: Live) -> None:
    conversation = str(uuid.uuid4())
    url = f"{svc.ws_base}/v1/ingest/audiohook"
    state = AudioHookClientState()
    headers = upgrade_headers(url, ORG, state.session_id, API_KEY, SECRET)
    from websockets.sync.client import connect

    with svc.ws("/v1/agents/A-ah/events", tok("agent", "A-ah")) as agent:
        with connect(url, additional_headers=headers, open_timeout=30) as ah:
            ah.send(json.dumps(state.message("open", open_parameters(ORG, conversation,
                                                                     "A-ah"))))
            opened = json.loads(ah.recv(30))
            state.saw(opened)
            assert opened["type"] == "opened"
            assert opened["parameters"]["media"][0]["format"] == "PCMU"
            caller, agent_b = _pair(CALLER_SAYS, AGENT_SAYS, 1)
            ah.send(_interleave(caller, agent_b, 1))  # external = caller, internal = agent
            state.samples_sent += len(caller)
            ah.send(json.dumps(state.message("ping")))
            pong = json.loads(ah.recv(30))
            state.saw(pong)
            assert (pong["type"], pong["clientseq"]) == ("pong", 2)
            events = read_until(agent, lambda e: e["type"] == "nudge.created")
            ah.send(json.dumps(state.message("close", {"reason": "end"})))
            closed = json.loads(ah.recv(30))
            assert closed["type"] == "closed" and closed["seq"] == 3
        events += read_until(agent, lambda e: e["type"] == "call.ended")
    _check_agent_view(events, conversation)


def test_audiosocket_legs_reach_agent(svc: Live) -> None:
    port = svc.app.state.audiosocket.ports[0]
    caller, agent_b = _pair(CALLER_SAYS, AGENT_SAYS, 2)
    with svc.ws("/v1/agents/A-as/events", tok("agent", "A-as")) as agent:
        legs = [socket.create_connection(("127.0.0.1", port), 10) for _ in range(2)]
        for leg, payload in zip(legs, (caller, agent_b), strict=True):
            leg.sendall(uuid_frame(AS_CALL))
            # Order of connection decides the leg: wait for the first to be the caller.
            if leg is legs[0]:
                events = read_until(agent, lambda e: e["type"] == "call.started")
            leg.sendall(encode_frame(KIND_SLIN_8K, payload))
        events += read_until(agent, lambda e: e["type"] == "nudge.created")
        for leg in legs:
            leg.sendall(encode_frame(KIND_HANGUP))
            assert leg.recv(10) == b""  # the server closes after hangup
            leg.close()
        events += read_until(agent, lambda e: e["type"] == "call.ended")
    _check_agent_view(events, AS_CALL)


def test_fork_stereo_reaches_agent(svc: Live) -> None:
    caller, agent_b = _pair(CALLER_SAYS, AGENT_SAYS, 2)
    with svc.ws("/v1/agents/A-fs/events", tok("agent", "A-fs")) as agent:
        with svc.ws(f"/v1/ingest/fork?token={tok('ingest')}") as fork:
            fork.send(json.dumps({"call_id": "fs-42", "agent_id": "A-fs",
                                  "sample_rate": 16000, "channels": 2}))
            assert recv_json(fork) == {"type": "json",
                                      "data": {"type": "started", "call_id": "fs-42"}}
            fork.send(_interleave(caller, agent_b, 2))  # channel 0 caller, 1 agent
            events = read_until(agent, lambda e: e["type"] == "nudge.created")
        events += read_until(agent, lambda e: e["type"] == "call.ended")
    _check_agent_view(events, "fs-42")


def test_bad_audiohook_signature_does_not_disturb_a_running_fork_call(svc: Live) -> None:
    from websockets.sync.client import connect

    caller, agent_b = _pair(CALLER_SAYS, AGENT_SAYS, 2)
    with svc.ws("/v1/agents/A-fs2/events", tok("agent", "A-fs2")) as agent:
        with svc.ws(f"/v1/ingest/fork?token={tok('ingest')}") as fork:
            fork.send(json.dumps({"call_id": "fs-43", "agent_id": "A-fs2",
                                  "sample_rate": 8000, "channels": 2}))
            recv_json(fork)
            url = f"{svc.ws_base}/v1/ingest/audiohook"
            state = AudioHookClientState()
            wrong = base64.b64encode(b"w" * 32).decode()
            with connect(url, additional_headers=upgrade_headers(
                    url, ORG, state.session_id, API_KEY, wrong)) as ah:
                msg = json.loads(ah.recv(30))
                assert msg["parameters"]["reason"] == "unauthorized"
                ah.send(json.dumps(state.message("close", {"reason": "disconnect"})))
                assert json.loads(ah.recv(30))["type"] == "closed"
            fork.send(_interleave(caller, agent_b, 2))
            events = read_until(agent, lambda e: e["type"] == "nudge.created")
        events += read_until(agent, lambda e: e["type"] == "call.ended")
    _check_agent_view(events, "fs-43")


def test_vosk_endpoint_needs_a_token(svc: Live, tmp_path: Path) -> None:
    from websockets.exceptions import ConnectionClosed

    with svc.ws("/v1/asr?token=bogus") as ws:
        error = recv_json(ws)
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(10)
    assert error["type"] == "error" and error["code"] and error["message"]
    assert info.value.rcvd is not None and info.value.rcvd.code == 1008


def test_vosk_eof_before_audio_and_stray_text(svc: Live) -> None:
    from websockets.exceptions import ConnectionClosed

    with svc.ws(f"/v1/asr?token={tok('ingest')}") as ws:
        ws.send('{"eof" : 1}')
        assert recv_json(ws) == {"text": ""}
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1000
    with svc.ws(f"/v1/asr?token={tok('ingest')}") as ws:
        ws.send("hello")
        assert recv_json(ws)["code"] == "bad_message"
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1003


def _text_call() -> Any:
    """A call whose 'mu-law' bytes are text, one utterance per 20 ms chunk, for the fakes."""
    from carecue_sim import CallAudio

    caller = CALLER_SAYS.encode().ljust(160) + b" " * 160
    agent = b" " * 160 + AGENT_SAYS.encode().ljust(160)
    return CallAudio(caller=caller, agent=agent)


@pytest.mark.parametrize("protocol", ["native", "audiohook", "fork", "audiosocket"])
def test_simulate_clients_speak_each_protocol(svc: Live, protocol: str) -> None:
    import asyncio

    from carecue_sim import StreamOptions, stream_call

    agent_id = {"audiosocket": "A-sim-as"}.get(protocol, f"A-sim-{protocol}")
    call_id = AS_SIM_CALL if protocol == "audiosocket" else str(uuid.uuid4())
    url = (f"tcp://127.0.0.1:{svc.app.state.audiosocket.ports[0]}"
           if protocol == "audiosocket" else svc.http)
    options = StreamOptions(url=url, token=tok("ingest"), agent_id=agent_id, call_id=call_id,
                            speed=10.0, custom={"api_key": API_KEY, "client_secret": SECRET})
    with svc.ws(f"/v1/agents/{agent_id}/events", tok("agent", agent_id)) as agent:
        result = asyncio.run(stream_call(_text_call(), options, protocol))
        events = read_until(agent, lambda e: e["type"] == "call.ended")
    assert result.call_id == call_id and result.chunks_sent == 2
    mine = [e for e in events if e["call_id"] == call_id]
    assert mine[0]["type"] == "call.started" and mine[-1]["type"] == "call.ended"
    finals = {(e["data"]["speaker"], e["data"]["text"]) for e in mine
              if e["type"] == "transcript.final"}
    if protocol in ("native", "audiohook"):  # mu-law passes through byte for byte
        assert ("caller", CALLER_SAYS) in finals and ("agent", AGENT_SAYS) in finals
    else:  # converted to PCM on the way: the fakes see noise, but both speakers arrive
        assert {speaker for speaker, _ in finals} == {"caller", "agent"}
