"""FreeSWITCH ``mod_audio_fork``, as ``uuid_audio_fork <uuid> start <url> stereo 8k <metadata>``
streams, for simulated calls.

Connects with the token in the query, sends the metadata JSON as the first text frame
(``call_id``, ``agent_id``, ``sample_rate``, ``channels``), then binary frames of interleaved
16-bit little-endian PCM (channel 0 caller, channel 1 agent) per ``chunk_ms``, then ends as
``uuid_audio_fork <uuid> stop`` does on a graceful shutdown: a zero-length binary frame, after
which the server closes the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import numpy as np
from websockets.exceptions import ConnectionClosed

from asr.codecs import mulaw_decode
from carecue_sim.audio import CallAudio
from carecue_sim.client import (
    SimulateError,
    StreamOptions,
    StreamResult,
    closed_error,
    connect_ingest,
    ingest_url,
    pace_until,
)

PATH = "/v1/ingest/fork"


def stereo_l16(call: CallAudio) -> bytes:
    """The whole call as interleaved L16 (caller, agent)."""
    both = np.stack([mulaw_decode(call.caller), mulaw_decode(call.agent)], axis=1)
    return both.astype("<i2").tobytes()


async def stream_call(call: CallAudio, options: StreamOptions) -> StreamResult:
    """Stream ``call`` like mod_audio_fork; see ``carecue_sim`` for the contract."""
    url = ingest_url(options.url, PATH, options.token)
    audio = stereo_l16(call)
    frame = 4 * (call.sample_rate * options.chunk_ms // 1000)
    chunk_s = options.chunk_ms / 1000
    n_chunks = -(-len(audio) // frame)
    received: list[Any] = []
    ws = await connect_ingest(url, options.url)
    sent = 0
    t0 = time.monotonic()
    try:
        metadata = {"call_id": options.call_id, "agent_id": options.agent_id,
                    "sample_rate": call.sample_rate, "channels": 2, **options.custom}
        await ws.send(json.dumps(metadata))
        started = json.loads(await asyncio.wait_for(ws.recv(), 30))
        received.append(started)
        if (started.get("data") or {}).get("type") != "started":
            raise SimulateError(f"server refused the stream: {started}", ws.close_code)
        t0 = time.monotonic()
        for i in range(n_chunks):
            await pace_until(t0, i, chunk_s, options.speed)
            await ws.send(audio[i * frame : (i + 1) * frame])
            sent = i + 1
        await ws.send(b"")
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            while True:  # anything the server still sends, until it closes
                received.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
    except ConnectionClosed as exc:
        raise closed_error(exc, sent) from exc
    finally:
        with contextlib.suppress(Exception):
            await ws.close()
    return StreamResult(call_id=options.call_id, audio_t0=t0, chunks_sent=sent,
                        audio_s=sent * chunk_s, received=received, close_code=ws.close_code,
                        close_reason=ws.close_reason or "")
