"""CareCue's native ingest protocol (``WS /v1/ingest/stream``) for simulated calls.

``{"type":"start", ...}`` with both tracks as 2-channel interleaved mu-law, binary frames per
``chunk_ms``, ``{"type":"stop"}``; waits for ``stopped`` and the server's close.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from websockets.exceptions import ConnectionClosed

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

PATH = "/v1/ingest/stream"


async def stream_call(call: CallAudio, options: StreamOptions) -> StreamResult:
    """Stream ``call`` over the native protocol; see ``carecue_sim`` for the contract."""
    url = ingest_url(options.url, PATH, options.token)
    interleaved = bytearray(2 * len(call.caller))
    interleaved[0::2] = call.caller
    interleaved[1::2] = call.agent
    frame = 2 * (call.sample_rate * options.chunk_ms // 1000)
    chunk_s = options.chunk_ms / 1000
    n_chunks = -(-len(interleaved) // frame)
    received: list[Any] = []
    ws = await connect_ingest(url, options.url)
    sent = 0
    t0 = time.monotonic()
    try:
        await ws.send(json.dumps({
            "type": "start", "call_id": options.call_id, "agent_id": options.agent_id,
            "encoding": "mulaw", "sample_rate": call.sample_rate, "channels": 2,
            "tracks": ["caller", "agent"]}))
        started = json.loads(await asyncio.wait_for(ws.recv(), 30))
        received.append(started)
        if started.get("type") != "started":
            raise SimulateError(f"server refused the stream: {started}", ws.close_code)
        t0 = time.monotonic()
        for i in range(n_chunks):
            await pace_until(t0, i, chunk_s, options.speed)
            await ws.send(bytes(interleaved[i * frame : (i + 1) * frame]))
            sent = i + 1
        await ws.send(json.dumps({"type": "stop"}))
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            while True:
                received.append(json.loads(await asyncio.wait_for(ws.recv(),
                                                                  options.close_timeout_s)))
    except ConnectionClosed as exc:
        raise closed_error(exc, sent) from exc
    finally:
        with contextlib.suppress(Exception):
            await ws.close()
    return StreamResult(call_id=options.call_id, audio_t0=t0, chunks_sent=sent,
                        audio_s=sent * chunk_s, received=received, close_code=ws.close_code,
                        close_reason=ws.close_reason or "")
