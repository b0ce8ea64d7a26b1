"""Stream a rendered call into the service over the Twilio Media Streams protocol (tests only).

Each 20 ms, one ``media`` message per track (inbound = caller, outbound = agent), paced in real
time (``speed`` > 1 is faster), exactly like Twilio sends a two-track stream.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from typing import Any

import numpy as np

from asr.codecs import mulaw_encode

FRAME = 160  # 20 ms at 8 kHz


def render_cached(script_yaml: str) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """``render_call`` with a disk cache (TTS is the slow part of these tests)."""
    from app.speech_synth import CallScript, cache_dir, render_call

    key = hashlib.sha256(script_yaml.encode()).hexdigest()[:16]
    folder = cache_dir() / "test-calls"
    audio_path, timing_path = folder / f"{key}.npy", folder / f"{key}.json"
    if audio_path.exists() and timing_path.exists():
        return np.load(audio_path), json.loads(timing_path.read_text())
    audio, timings = render_call(CallScript.from_yaml(script_yaml))
    folder.mkdir(parents=True, exist_ok=True)
    np.save(audio_path, audio)
    timing_path.write_text(json.dumps([dict(t) for t in timings]))
    return audio, [dict(t) for t in timings]


def media(stream_sid: str, track: str, chunk: int, payload: bytes) -> str:
    return json.dumps(
        {
            "event": "media",
            "sequenceNumber": str(chunk + 2),
            "streamSid": stream_sid,
            "media": {
                "track": track,
                "chunk": str(chunk + 1),
                "timestamp": str(chunk * 20),
                "payload": base64.b64encode(payload).decode(),
            },
        }
    )


def start(call_sid: str, stream_sid: str, agent_id: str, **params: str) -> str:
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": stream_sid,
            "start": {
                "accountSid": "ACtest",
                "streamSid": stream_sid,
                "callSid": call_sid,
                "tracks": ["inbound", "outbound"],
                "customParameters": {"agent_id": agent_id, **params},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
    )


async def stream_twilio(
    url: str,
    token: str,
    call_sid: str,
    agent_id: str,
    audio: np.ndarray,
    *,
    speed: float = 1.0,
) -> float:
    """Stream a stereo int16 call (col 0 caller, col 1 agent); returns the wall time of t=0."""
    from websockets.asyncio.client import connect

    stream_sid = f"MZ{call_sid}"
    caller = mulaw_encode(audio[:, 0])
    agent = mulaw_encode(audio[:, 1])
    n = len(audio) // FRAME
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(start(call_sid, stream_sid, agent_id))
        t0 = time.monotonic()
        for i in range(n):
            lo, hi = i * FRAME, (i + 1) * FRAME
            await ws.send(media(stream_sid, "inbound", i, caller[lo:hi]))
            await ws.send(media(stream_sid, "outbound", i, agent[lo:hi]))
            due = t0 + (i + 1) * 0.02 / speed
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await ws.send(
            json.dumps({"event": "stop", "streamSid": stream_sid, "stop": {"callSid": call_sid}})
        )
        # Twilio closes after stop; the server answers by closing when the call is flushed.
        try:
            await asyncio.wait_for(ws.wait_closed(), 120)
        except TimeoutError:
            pass
    return t0


async def collect(url: str, token: str, until_call_ended: str) -> list[dict[str, Any]]:
    """Read an event socket until ``call.ended`` of the given call; returns every envelope."""
    from websockets.asyncio.client import connect

    got: list[dict[str, Any]] = []
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        async with asyncio.timeout(300):
            async for raw in ws:
                env = json.loads(raw)
                got.append(env)
                if env["type"] == "call.ended" and env["call_id"] == until_call_ended:
                    break
    return got
