"""``carecue_sim``: the Twilio Media Streams client, call audio loading, ``carecue simulate``."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.server import ServerConnection, serve

from asr.codecs import mulaw_encode
from carecue_sim import SimulateError, StreamOptions, ingest_url, stream_call
from carecue_sim.audio import (
    CallAudio,
    SpokenTurn,
    call_from_pcm,
    load_wav_call,
)


def _wav_bytes(
    fmt_tag: int, bits: int, frames: bytes, channels: int = 2, rate: int = 8000
) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(frames)) + frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _tone(seconds: float, freq: float) -> np.ndarray:
    t = np.arange(int(8000 * seconds)) / 8000
    return (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


# ---- call audio ------------------------------------------------------------------------------


def test_load_wav_call_splits_mulaw_stereo_and_reads_turns(tmp_path: Path) -> None:
    caller, agent = _tone(0.2, 300), _tone(0.2, 700)
    frames = np.stack([np.frombuffer(mulaw_encode(caller), np.uint8),
                       np.frombuffer(mulaw_encode(agent), np.uint8)], axis=1).tobytes()
    wav = tmp_path / "call.wav"
    wav.write_bytes(_wav_bytes(7, 8, frames))
    (tmp_path / "call.turns.json").write_text(json.dumps(
        [{"speaker": "caller", "text": "hello", "start_s": 0.0, "end_s": 0.2}]))
    call = load_wav_call(wav)
    assert call.caller == mulaw_encode(caller) and call.agent == mulaw_encode(agent)
    assert call.duration_s == pytest.approx(0.2)
    assert call.turns == (SpokenTurn("caller", 0.0, 0.2, "hello"),)


def test_load_wav_call_accepts_pcm16_and_rejects_mono(tmp_path: Path) -> None:
    stereo = np.stack([_tone(0.1, 300), _tone(0.1, 500)], axis=1)
    (tmp_path / "pcm.wav").write_bytes(_wav_bytes(1, 16, stereo.astype("<i2").tobytes()))
    assert load_wav_call(tmp_path / "pcm.wav") == call_from_pcm(stereo, 8000)
    (tmp_path / "mono.wav").write_bytes(_wav_bytes(1, 16, _tone(0.1, 300).tobytes(), channels=1))
    with pytest.raises(ValueError, match="2 channels"):
        load_wav_call(tmp_path / "mono.wav")


def test_ingest_url_maps_http_to_ws_and_puts_token_in_query() -> None:
    assert ingest_url("http://h:8080", "/v1/ingest/twilio", "t k") == (
        "ws://h:8080/v1/ingest/twilio?token=t+k"
    )
    assert ingest_url("https://h/", "/p", "t").startswith("wss://h/p?")
    assert ingest_url("ws://h/custom", "/p", "t") == "ws://h/custom?token=t"
    with pytest.raises(ValueError):
        ingest_url("ftp://h", "/p", "t")


# ---- Twilio framing, against a recording websocket server ------------------------------------


async def _record_twilio(call: CallAudio, **opts: Any) -> tuple[list[dict[str, Any]], str]:
    got: list[dict[str, Any]] = []
    paths: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        paths.append(ws.request.path)
        async for raw in ws:
            msg = json.loads(raw)
            got.append(msg)
            if msg["event"] == "stop":
                await ws.close(1000, "done")

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        options = StreamOptions(url=f"http://127.0.0.1:{port}", token="tok", **opts)
        result = await stream_call(call, options)
    assert result.close_code == 1000
    return got, paths[0]


async def test_twilio_client_speaks_media_streams_like_twilio() -> None:
    caller = np.concatenate([_tone(0.1, 300), np.zeros(800, np.int16)])
    agent = np.concatenate([np.zeros(800, np.int16), _tone(0.1, 600)])
    call = call_from_pcm(np.stack([caller, agent], axis=1), 8000,
                         [SpokenTurn("caller", 0.0, 0.1), SpokenTurn("agent", 0.1, 0.2)])
    got, path = await _record_twilio(call, agent_id="A7", call_id="CA42", speed=20.0)

    assert path.startswith("/v1/ingest/twilio?") and "token=tok" in path
    assert [m["event"] for m in got[:2]] == ["connected", "start"]
    assert got[-1]["event"] == "stop" and got[-1]["stop"]["callSid"] == "CA42"
    start = got[1]["start"]
    assert start["tracks"] == ["inbound", "outbound"]
    assert start["customParameters"]["agent_id"] == "A7"
    assert start["callSid"] == "CA42"
    assert start["mediaFormat"] == {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
    seqs = [int(m["sequenceNumber"]) for m in got[1:]]
    assert seqs == list(range(1, len(got)))
    assert all(m["streamSid"] == start["streamSid"] for m in got[1:])

    media = [m["media"] for m in got if m["event"] == "media"]
    for track, name in (("inbound", "caller"), ("outbound", "agent")):
        mine = [m for m in media if m["track"] == track]
        assert [int(m["chunk"]) for m in mine] == list(range(1, 11))  # 200 ms in 20 ms chunks
        assert [int(m["timestamp"]) for m in mine] == list(range(0, 200, 20))
        payload = b"".join(base64.b64decode(m["payload"]) for m in mine)
        assert payload == call.track(name)
        assert all(len(base64.b64decode(m["payload"])) == 160 for m in mine)
    marks = [m["mark"]["name"] for m in got if m["event"] == "mark"]
    assert marks == ["turn-0", "turn-1"]


async def test_twilio_client_paces_audio_at_the_requested_speed() -> None:
    call = call_from_pcm(np.zeros((8000, 2), np.int16), 8000)  # 1 s of audio
    loop = asyncio.get_running_loop()
    t = loop.time()
    await _record_twilio(call, speed=4.0)
    elapsed = loop.time() - t
    # 1 s of audio at 4x cannot be sent faster than 0.25 s (pacing is a lower bound).
    assert elapsed >= 0.24


async def test_twilio_client_reports_a_refused_stream() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.close(1008, "bad token")

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        call = call_from_pcm(np.zeros((8000, 2), np.int16), 8000)
        with pytest.raises(SimulateError) as info:
            await stream_call(call, StreamOptions(url=f"http://127.0.0.1:{port}", token="x"))
    assert info.value.close_code == 1008


async def test_unknown_protocol_is_rejected() -> None:
    call = call_from_pcm(np.zeros((160, 2), np.int16), 8000)
    with pytest.raises(ValueError, match="unknown protocol"):
        await stream_call(call, StreamOptions(url="http://x", token="t"), protocol="carrier-pigeon")


# ---- against a real running CareCue ----------------------------------------------------------

TERRIFIED_SCRIPT = textwrap.dedent(
    """\
    voices: {caller: af_heart, agent: bm_george}
    turns:
      - {speaker: agent, text: "Patient support, this is Sam. How can I help?", pause_s: 0.4}
      - {speaker: caller, text: "I'm terrified. My scan results came back and I'm so scared.",
         pause_s: 0.6}
      - {speaker: agent, text: "Can I have your date of birth, please?", pause_s: 0.6}
    trailing_silence_s: 12.0
    """
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from carecue_live import live_server

    with live_server(tmp_path_factory.mktemp("carecue")) as live:
        yield live


@pytest.mark.slow
async def test_simulate_cli_streams_a_scripted_call_into_a_running_server(
    server: Any, tmp_path: Path
) -> None:
    from carecue_sim.events import EventRecorder, agent_events_url

    script = tmp_path / "call.yaml"
    script.write_text(TERRIFIED_SCRIPT)
    url = agent_events_url(server.base, server.token("agent", "A-sim"), "A-sim")
    async with EventRecorder(url) as rec:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from app.cli import main; main()", "simulate",
            "--script", str(script), "--url", server.base, "--token", server.token("ingest"),
            "--agent-id", "A-sim", "--call-id", "CA-sim-1",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 300)
        assert proc.returncode == 0, err.decode()
        assert out.decode().strip() == "CA-sim-1"
        ended = await rec.wait_for(lambda e: e.type == "call.ended", 60)
    assert ended is not None and ended.call_id == "CA-sim-1"
    types = [e.type for e in rec.events]
    assert types[0] == "call.started"
    finals = rec.of_type("transcript.final", "CA-sim-1")
    assert {e.data["speaker"] for e in finals} == {"caller", "agent"}
    assert any("terrified" in e.data["text"].lower() for e in finals
               if e.data["speaker"] == "caller")
    assert rec.of_type("signals.updated", "CA-sim-1")
    nudges = [e.data["rule_id"] for e in rec.of_type("nudge.created", "CA-sim-1")]
    assert "acknowledge_concern" in nudges

    detail = server.get("/v1/calls/CA-sim-1")
    assert detail.status_code == 200


@pytest.mark.slow
async def test_simulate_against_real_server_with_a_bad_token_fails_with_1008(server: Any) -> None:
    call = call_from_pcm(np.zeros((1600, 2), np.int16), 8000)
    with pytest.raises(SimulateError) as info:
        await stream_call(call, StreamOptions(url=server.base, token="cc1.bad.token"))
    assert info.value.close_code == 1008
