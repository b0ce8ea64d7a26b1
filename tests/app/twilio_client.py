"""End-to-end test clients: a rendered call streamed over Twilio Media Streams, an event reader.

Streaming goes through the product's own client (``carecue_sim.twilio``): each 20 ms one
``media`` message per track (inbound = caller, outbound = agent), paced in real time (``speed``
> 1 is faster), exactly like Twilio sends a two-track stream.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import numpy as np


def render_cached(script_yaml: str) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """``render_call`` with a disk cache (TTS is the slow part of these tests)."""
    from carecue_sim.speech_synth import CallScript, cache_dir, render_call

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


async def stream_twilio(
    url: str,
    token: str,
    call_sid: str,
    agent_id: str,
    audio: np.ndarray,
    *,
    speed: float = 1.0,
) -> float:
    """Stream a stereo int16 call (col 0 caller, col 1 agent) with the product's Twilio client
    (``carecue_sim.twilio``); returns the wall time of t=0."""
    from carecue_sim import StreamOptions
    from carecue_sim.audio import call_from_pcm
    from carecue_sim.twilio import stream_call

    options = StreamOptions(url=url, token=token, agent_id=agent_id, call_id=call_sid,
                            speed=speed, close_timeout_s=120)
    result = await stream_call(call_from_pcm(audio, 8000), options)
    return result.audio_t0


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
