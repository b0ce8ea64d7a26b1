"""End to end, per platform: a client speaking the platform's protocol streams a real call into a
real CareCue server (real ASR, classifier, nudge engine), and the agent's event socket gets the
transcripts and the nudge. Misuse on one platform must leave a concurrent call untouched.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from carecue_sim import CallAudio, SimulateError, StreamOptions, load_wav_call, stream_call

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[3] / "carecue_sim" / "demo_call"
API_KEY = "carecue-conformance-key"
CLIENT_SECRET = base64.b64encode(b"conformance client secret, 32 b!").decode()
AUDIOSOCKET_CALL = "6f1c0c8e-9a55-4c1e-8f1e-2a7b8d9c0e11"


def _first_turns(seconds: float = 26.0, silence_s: float = 10.0) -> CallAudio:
    """The demo call up to the agent's rushed reply, then silence: enough for the
    'acknowledge the concern' nudge (the agent asks for a date of birth instead)."""
    call = load_wav_call(DEMO / "sample_call.wav", DEMO / "sample_call.turns.json")
    n = int(seconds * call.sample_rate)
    pad = b"\xff" * int(silence_s * call.sample_rate)
    turns = tuple(t for t in call.turns if t.end_s <= seconds)
    return CallAudio(call.caller[:n] + pad, call.agent[:n] + pad, turns, call.sample_rate)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from carecue_sim.demo import free_port
    from tests.app.carecue_live import live_server

    port = free_port()
    env = {
        "CARECUE_AUDIOHOOK_API_KEYS": json.dumps({API_KEY: CLIENT_SECRET}),
        "CARECUE_AUDIOSOCKET_HOST": "127.0.0.1",
        "CARECUE_AUDIOSOCKET_PORT": str(port),
        "CARECUE_AGENT_MAP": json.dumps({"audiosocket": {"uuid": {AUDIOSOCKET_CALL: "A-as"}}}),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with live_server(tmp_path_factory.mktemp("carecue-ingest")) as live:
            yield SimpleNamespace(base=live.base, token=live.token, audiosocket_port=port)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def _run_call(server: Any, protocol: str, agent_id: str, call_id: str,
                    url: str | None = None, **custom: str) -> tuple[Any, list[Any]]:
    from carecue_sim.events import EventRecorder, agent_events_url

    call = _first_turns()
    events_url = agent_events_url(server.base, server.token("agent", agent_id), agent_id)
    async with EventRecorder(events_url) as rec:
        options = StreamOptions(url=url or server.base, token=server.token("ingest"),
                                agent_id=agent_id, call_id=call_id, speed=1.0, custom=custom)
        result = await stream_call(call, options, protocol)
        ended = await rec.wait_for(lambda e: e.type == "call.ended", 90)
    assert ended is not None, f"{protocol}: no call.ended for {agent_id}"
    return result, rec.events


def _assert_reached_agent(events: list[Any], call_id: str) -> None:
    mine = [e for e in events if e.call_id == call_id]
    types = [e.type for e in mine]
    assert types[0] == "call.started"
    finals = [e.data for e in mine if e.type == "transcript.final"]
    assert {f["speaker"] for f in finals} == {"caller", "agent"}
    caller_text = " ".join(f["text"].lower() for f in finals if f["speaker"] == "caller")
    assert "terrified" in caller_text or "biopsy" in caller_text
    assert "signals.updated" in types
    rules = [e.data["rule_id"] for e in mine if e.type == "nudge.created"]
    assert "acknowledge_concern" in rules, rules


async def test_genesys_audiohook_signed_session(server: Any) -> None:
    conversation = str(uuid.uuid4())
    result, events = await _run_call(server, "audiohook", "A-ah", conversation,
                                     api_key=API_KEY, client_secret=CLIENT_SECRET)
    types = [m["type"] for m in result.received]
    assert types[0] == "opened" and types[-1] == "closed" and "pong" in types
    assert [m["seq"] for m in result.received] == list(range(1, len(types) + 1))
    _assert_reached_agent(events, conversation)


async def test_asterisk_audiosocket_two_legs(server: Any) -> None:
    _, events = await _run_call(server, "audiosocket", "A-as", AUDIOSOCKET_CALL,
                                url=f"tcp://127.0.0.1:{server.audiosocket_port}")
    _assert_reached_agent(events, AUDIOSOCKET_CALL)


async def test_freeswitch_audio_fork_stereo(server: Any) -> None:
    result, events = await _run_call(server, "fork", "A-fs", "fs-call-1")
    assert result.received[0] == {"type": "json",
                                  "data": {"type": "started", "call_id": "fs-call-1"}}
    _assert_reached_agent(events, "fs-call-1")


async def test_misuse_on_one_platform_leaves_a_live_call_alone(server: Any) -> None:
    """A bad AudioHook signature and a truncated AudioSocket stream, while a fork call runs."""
    from carecue_sim.audiohook import AudioHookClientState, upgrade_headers

    async def misuse() -> None:
        from websockets.asyncio.client import connect

        await asyncio.sleep(3)
        url = server.base.replace("http", "ws") + "/v1/ingest/audiohook"
        state = AudioHookClientState()
        wrong = base64.b64encode(b"x" * 32).decode()
        headers = upgrade_headers(url, str(uuid.uuid4()), state.session_id, API_KEY, wrong)
        async with connect(url, additional_headers=headers) as ws:
            msg = json.loads(await ws.recv())
            assert msg["type"] == "disconnect" and msg["parameters"]["reason"] == "unauthorized"
            await ws.send(json.dumps(state.message("close", {"reason": "disconnect"})))
            assert json.loads(await ws.recv())["type"] == "closed"
        reader, writer = await asyncio.open_connection("127.0.0.1", server.audiosocket_port)
        writer.write(b"\x01\x00\x10" + uuid.UUID(AUDIOSOCKET_CALL).bytes + b"\x10\x01\x40" +
                     bytes(7))
        writer.write_eof()
        # Closed without an 0xff frame (that would make Asterisk hang up the caller).
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()

    run = asyncio.create_task(_run_call(server, "fork", "A-fs2", "fs-call-2"))
    await misuse()
    _, events = await run
    _assert_reached_agent(events, "fs-call-2")


async def test_audiohook_unknown_key_is_refused_by_the_simulator(server: Any) -> None:
    options = StreamOptions(url=server.base, token="not-a-key", agent_id="A-x",
                            call_id=str(uuid.uuid4()))
    with pytest.raises(SimulateError, match="unauthorized"):
        await stream_call(_first_turns(1.0, 0.0), options, "audiohook")
