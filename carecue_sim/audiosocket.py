"""Asterisk AudioSocket, as two ``AudioSocket(<uuid>,host:port)`` legs stream, for simulated
calls.

Two TCP connections with the same UUID: the caller leg connects first (or to the caller port),
then the agent leg (or to ``options.custom["agent_port"]`` /
``CARECUE_SIM_AUDIOSOCKET_AGENT_PORT``). Each sends the ``0x01`` UUID frame,
then ``0x10`` frames of 8 kHz signed linear little-endian audio per ``chunk_ms``, then the
``0x00`` hangup frame. ``options.url`` is ``tcp://host:port`` (or ``host:port``); the call id
must be a UUID (another id is turned into one deterministically). AudioSocket has no auth and
no agent field: the server's agent map decides the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from app.ingest.audiosocket import KIND_ERROR, KIND_HANGUP, KIND_SLIN_8K, encode_frame, uuid_frame
from asr.codecs import mulaw_decode
from carecue_sim.audio import CallAudio
from carecue_sim.client import SimulateError, StreamOptions, StreamResult, pace_until


def call_uuid(call_id: str) -> uuid.UUID:
    """The AudioSocket UUID for a call id (stable for non-UUID ids)."""
    try:
        return uuid.UUID(call_id)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"carecue:{call_id}")


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"AudioSocket needs host:port, got {url!r}")
    return parts.hostname, parts.port


async def stream_call(call: CallAudio, options: StreamOptions) -> StreamResult:
    """Stream ``call`` as two AudioSocket legs; see ``carecue_sim`` for the contract."""
    host, port = _host_port(options.url)
    agent_port = int(options.custom.get("agent_port")
                     or os.environ.get("CARECUE_SIM_AUDIOSOCKET_AGENT_PORT") or port)
    cid = call_uuid(options.call_id)
    chunk = call.sample_rate * options.chunk_ms // 1000
    chunk_s = options.chunk_ms / 1000
    pcm = {"caller": mulaw_decode(call.caller).astype("<i2").tobytes(),
           "agent": mulaw_decode(call.agent).astype("<i2").tobytes()}
    n_chunks = -(-len(call.caller) // chunk)
    legs: dict[str, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}
    received: list[Any] = []
    try:
        for track, leg_port in (("caller", port), ("agent", agent_port)):
            legs[track] = await asyncio.open_connection(host, leg_port)
            legs[track][1].write(uuid_frame(cid))
            await legs[track][1].drain()
    except OSError as exc:
        raise SimulateError(f"cannot connect to AudioSocket at {host}:{port}: {exc}") from exc
    t0 = time.monotonic()
    sent = 0
    try:
        for i in range(n_chunks):
            await pace_until(t0, i, chunk_s, options.speed)
            for track, (_, writer) in legs.items():
                writer.write(encode_frame(KIND_SLIN_8K, pcm[track][2 * i * chunk :
                                                                    2 * (i + 1) * chunk]))
                await writer.drain()
            sent = i + 1
        for _, writer in legs.values():
            writer.write(encode_frame(KIND_HANGUP))
            await writer.drain()
        for track, (reader, _) in legs.items():
            reply = await asyncio.wait_for(reader.read(), options.close_timeout_s)
            if reply:
                received.append({"leg": track, "bytes": reply.hex()})
            if reply[:1] == bytes([KIND_ERROR]):
                raise SimulateError(f"server sent an AudioSocket error on the {track} leg: "
                                    f"{reply.hex()}")
    except (ConnectionError, TimeoutError) as exc:
        raise SimulateError(f"AudioSocket stream broke after {sent} chunks: {exc}") from exc
    finally:
        for _, writer in legs.values():
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    return StreamResult(call_id=str(cid), audio_t0=t0, chunks_sent=sent,
                        audio_s=sent * chunk_s, received=received)
