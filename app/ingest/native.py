"""Native ingest: ``WS /v1/ingest/stream``.

First text frame ``{"type":"start","call_id","agent_id","encoding","sample_rate","channels",
"tracks"}``; the server answers ``{"type":"started","call_id"}``. Then binary audio frames
(interleaved when 2 channels, track order as in ``tracks``) and finally ``{"type":"stop"}``,
answered with ``{"type":"stopped","call_id"}`` and close 1000. A disconnect ends the call too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import numpy as np
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.auth import AuthError, websocket_principal
from app.ingest.base import CallMeta, IngestError
from app.ingest.context import call_registry
from app.ingest.lifecycle import IngestStream, registered
from app.wsclose import close_with_error
from asr.types import ENCODINGS, SPEAKERS, AudioFrame, Speaker

log = logging.getLogger("carecue.ingest.native")

router = APIRouter(tags=["ingest"])

PATH = "/v1/ingest/stream"
_SAMPLE_BYTES = {"pcm_s16le": 2, "mulaw": 1, "alaw": 1}


def parse_start(msg: Any) -> tuple[CallMeta, str, int, int]:
    """Validate a start message: ``(meta, encoding, sample_rate, channels)`` or ``IngestError``."""
    if not isinstance(msg, dict) or msg.get("type") != "start":
        raise IngestError("expected_start", 'the first message must be {"type":"start",...}', 1007)
    call_id, agent_id = msg.get("call_id"), msg.get("agent_id")
    if not isinstance(call_id, str) or not call_id or not isinstance(agent_id, str) or not agent_id:
        raise IngestError("bad_start", "start needs string call_id and agent_id", 1007)
    encoding = msg.get("encoding", "pcm_s16le")
    if encoding not in ENCODINGS:
        raise IngestError(
            "unsupported_encoding",
            f"encoding {encoding!r} is not one of {', '.join(ENCODINGS)}",
            1003,
        )
    rate = msg.get("sample_rate", 8000)
    if not isinstance(rate, int) or isinstance(rate, bool) or not 8000 <= rate <= 48000:
        raise IngestError("unsupported_sample_rate", "sample_rate must be 8000..48000", 1003)
    channels = msg.get("channels", 1)
    if channels not in (1, 2) or isinstance(channels, bool):
        raise IngestError("unsupported_channels", "channels must be 1 or 2", 1003)
    tracks_raw = msg.get("tracks") or (["caller", "agent"] if channels == 2 else ["caller"])
    if (
        not isinstance(tracks_raw, list)
        or len(tracks_raw) != channels
        or len(set(tracks_raw)) != len(tracks_raw)
        or any(t not in SPEAKERS for t in tracks_raw)
    ):
        raise IngestError(
            "bad_tracks", "tracks must list one distinct caller/agent track per channel", 1007
        )
    tracks: tuple[Speaker, ...] = tuple(tracks_raw)
    custom = msg.get("custom") or {}
    if not isinstance(custom, dict):
        raise IngestError("bad_start", "custom must be an object", 1007)
    meta = CallMeta(
        call_id=call_id,
        agent_id=agent_id,
        source="native",
        tracks=tracks,
        custom={str(k): str(v) for k, v in custom.items()},
    )
    return meta, encoding, rate, channels


def split_channels(data: bytes, encoding: str, channels: int) -> list[bytes]:
    """De-interleave a frame into per-channel byte strings."""
    width = _SAMPLE_BYTES[encoding]
    if len(data) % (width * channels):
        raise IngestError(
            "bad_frame", f"frame length {len(data)} is not a whole number of samples", 1007
        )
    if channels == 1:
        return [data]
    dtype = np.int16 if width == 2 else np.uint8
    samples = np.frombuffer(data, dtype=dtype).reshape(-1, channels)
    return [samples[:, c].tobytes() for c in range(channels)]


async def _receive(ws: WebSocket, idle_s: float) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), idle_s)
    if msg["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(msg.get("code", 1000))
    return dict(msg)


@router.websocket(PATH)
async def native_ingest(ws: WebSocket) -> None:
    """Stream one call's audio (see module doc)."""
    try:
        websocket_principal(ws, ("ingest", "admin"))
    except AuthError as exc:
        await close_with_error(ws, exc.code, exc.message, 1008)
        return
    await ws.accept()
    stream = IngestStream(ws, "native",
                          farewell={"type": "stopped", "call_id": None, "reason": "shutdown"})
    async with registered(stream):
        reason = await _run(ws, stream)
        await stream.end(reason)


async def _run(ws: WebSocket, stream: IngestStream) -> str:
    """Read the stream until it ends; returns the reason the call ends with."""
    settings = ws.app.state.settings
    try:
        first = await _receive(ws, settings.ws_idle_timeout_s)
        if first.get("text") is None:
            raise IngestError("expected_start", "the first message must be a JSON start", 1007)
        try:
            start = json.loads(first["text"])
        except ValueError as exc:
            raise IngestError(
                "malformed_json", "the start message is not valid JSON", 1007
            ) from exc
        meta, encoding, rate, channels = parse_start(start)
        await stream.open(call_registry(ws.app), meta)
        await ws.send_json({"type": "started", "call_id": meta.call_id})
        while True:
            msg = await _receive(ws, settings.ws_idle_timeout_s)
            data = msg.get("bytes")
            if data is not None:
                if len(data) > settings.max_frame_bytes:
                    raise IngestError(
                        "frame_too_big",
                        f"frame of {len(data)} bytes; limit {settings.max_frame_bytes}",
                        1009,
                    )
                for track, chunk in zip(
                    meta.tracks, split_channels(data, encoding, channels), strict=True
                ):
                    await stream.push(
                        AudioFrame(track=track, data=chunk, sample_rate=rate, encoding=encoding)  # type: ignore[arg-type]
                    )
                continue
            try:
                ctrl = json.loads(msg.get("text") or "")
            except ValueError as exc:
                raise IngestError(
                    "malformed_json", "control message is not valid JSON", 1007
                ) from exc
            if isinstance(ctrl, dict) and ctrl.get("type") == "stop":
                await stream.end("stop")
                await ws.send_json({"type": "stopped", "call_id": meta.call_id})
                await ws.close(1000)
                return "stop"
            raise IngestError("unknown_message", 'expected audio or {"type":"stop"}', 1007)
    except WebSocketDisconnect:
        return "disconnect"
    except TimeoutError:
        await close_with_error(ws, "idle_timeout", "no data within the idle timeout", 1008)
        return "timeout"
    except IngestError as exc:
        log.info("native ingest rejected", extra={"code": exc.code, "close_code": exc.close_code})
        if stream.draining:
            return "shutdown"
        await close_with_error(ws, exc.code, exc.message, exc.close_code)
        return "error"
