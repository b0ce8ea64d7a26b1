"""Twilio Media Streams, as Twilio itself sends it, for simulated calls.

Message order: ``connected``, ``start`` (tracks inbound and outbound, ``customParameters``
with ``agent_id`` and ``call_id``), then per 20 ms one ``media`` message per track (base64
mu-law, per-track ``chunk`` counting from 1, ``timestamp`` in ms since the stream started), a
``mark`` after each scripted turn, and ``stop``. Track ``inbound`` is the caller, ``outbound``
the agent, as in the wire contract.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import math
import time
import uuid
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from carecue_sim.audio import CallAudio, Track
from carecue_sim.client import (
    StreamOptions,
    StreamResult,
    closed_error,
    connect_ingest,
    ingest_url,
    pace_until,
)

log = logging.getLogger(__name__)

PATH = "/v1/ingest/twilio"
_TRACKS: tuple[tuple[str, Track], ...] = (("inbound", "caller"), ("outbound", "agent"))


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


async def _read_all(ws: ClientConnection, into: list[Any]) -> None:
    """Collect what the server sends (errors, marks) until it closes."""
    with contextlib.suppress(ConnectionClosed):
        async for message in ws:
            try:
                into.append(json.loads(message))
            except (TypeError, ValueError):
                into.append(message)


async def stream_call(call: CallAudio, options: StreamOptions) -> StreamResult:
    """Stream ``call`` over Twilio Media Streams; see ``carecue_sim`` for the contract."""
    url = ingest_url(options.url, PATH, options.token)
    stream_sid, account_sid = _sid("MZ"), _sid("AC")
    chunk_bytes = call.sample_rate * options.chunk_ms // 1000
    chunk_s = options.chunk_ms / 1000
    n_chunks = -(-len(call.caller) // chunk_bytes)
    # A turn's mark goes out right after the chunk holding its last sample.
    mark_at = sorted(
        (min(n_chunks - 1, max(0, math.ceil(round(t.end_s / chunk_s, 6)) - 1)), i)
        for i, t in enumerate(call.turns)
    )
    seq = 0
    received: list[Any] = []

    def envelope(event: str, **body: Any) -> str:
        nonlocal seq
        seq += 1
        msg: dict[str, Any] = {"event": event, "sequenceNumber": str(seq), **body}
        if event != "connected":
            msg["streamSid"] = stream_sid
        return json.dumps(msg)

    ws = await connect_ingest(url, options.url)

    reader = asyncio.create_task(_read_all(ws, received))
    t0 = time.monotonic()
    sent = 0
    try:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        custom = {"agent_id": options.agent_id, "call_id": options.call_id, **options.custom}
        start = {
            "accountSid": account_sid,
            "streamSid": stream_sid,
            "callSid": options.call_id,
            "tracks": ["inbound", "outbound"],
            "customParameters": custom,
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        }
        await ws.send(envelope("start", start=start))
        t0 = time.monotonic()
        next_mark = 0
        for i in range(n_chunks):
            await pace_until(t0, i, chunk_s, options.speed)
            lo, hi = i * chunk_bytes, (i + 1) * chunk_bytes
            stamp = str(i * options.chunk_ms)
            for twilio_track, track in _TRACKS:
                payload = base64.b64encode(call.track(track)[lo:hi]).decode("ascii")
                media = {"track": twilio_track, "chunk": str(i + 1), "timestamp": stamp,
                         "payload": payload}
                await ws.send(envelope("media", media=media))
            sent = i + 1
            while next_mark < len(mark_at) and mark_at[next_mark][0] <= i:
                await ws.send(envelope("mark", mark={"name": f"turn-{mark_at[next_mark][1]}"}))
                next_mark += 1
        await ws.send(envelope("stop", stop={"accountSid": account_sid,
                                             "callSid": options.call_id}))
        # The server flushes the last utterance and closes; Twilio itself would hang up here.
        try:
            await asyncio.wait_for(ws.wait_closed(), options.close_timeout_s)
        except TimeoutError:
            await ws.close()
    except ConnectionClosed as exc:
        await asyncio.wait_for(reader, 5)
        raise closed_error(exc, sent) from exc
    finally:
        if not reader.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(reader, 5)
        await ws.close()

    log.info("twilio stream done", extra={"call_id": options.call_id, "chunks": sent})
    return StreamResult(
        call_id=options.call_id,
        audio_t0=t0,
        chunks_sent=sent,
        audio_s=sent * chunk_s,
        received=received,
        close_code=ws.close_code,
        close_reason=ws.close_reason or "",
    )
