"""FreeSWITCH ``mod_audio_fork`` (and look-alikes) at ``WS /v1/ingest/fork``.

``uuid_audio_fork <uuid> start wss://host/v1/ingest/fork?token=... stereo 16k '<metadata>'``
opens the socket, sends the metadata string as the first text frame, then binary frames of
16-bit little-endian linear PCM (L16) at the chosen rate; ``stereo`` puts the caller in
channel 0 and the agent in channel 1, ``mono`` carries the caller only. Later text frames
(``uuid_audio_fork <uuid> send_text``, e.g. the DTMF events drachtio's example forwards, or
``stop``'s optional metadata) are logged by size and ignored. ``uuid_audio_fork <uuid> stop``
sends a zero-length binary frame (graceful shutdown) or closes the socket: either ends the
call normally, and the server closes 1000.

The stream itself does not say its rate or layout. The metadata (or the URL query) may:

    {"call_id": "...", "agent_id": "A1", "sample_rate": 16000, "channels": 2}

``mix_type`` ("mono"/"stereo") may stand for ``channels``; ``callId`` or ``uuid`` for
``call_id``. Missing, they default to ``CARECUE_FORK_SAMPLE_RATE`` (8000) and
``CARECUE_FORK_MIX_TYPE`` (mono), so the module's stock ``{callId, to, from}`` works as long as
the start command's rate and mix match those. Without ``agent_id`` every string metadata field
is offered to the agent map (``fork: {...}``). Mixed audio (both parties in one channel) cannot
be told apart and is refused (1003).

Server messages use the shapes the module understands (``processIncomingMessage``):
``{"type": "json", "data": {"type": "started", "call_id": ...}}`` (raised as a
``mod_audio_fork::json`` event) and ``{"type": "error", "data": {"code", "message"}, ...}``
(``mod_audio_fork::error``, whose body is ``data``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.ingest.base import CallMeta, IngestError
from app.ingest.context import adapter_settings, agent_map, call_registry, free_call_id
from app.ingest.lifecycle import IngestStream, registered
from app.wsclose import close_with_error
from asr.types import AudioFrame, Speaker

log = logging.getLogger(__name__)

router = APIRouter()
PATH = "/v1/ingest/fork"
RATES = (8000, 16000)
MAX_METADATA_BYTES = 16384
_MIX = {"mono": 1, "stereo": 2}


@dataclass(frozen=True, slots=True)
class ForkStart:
    """The stream's shape and identity, from the metadata frame and the URL query."""

    call_id: str
    agent_id: str | None
    sample_rate: int
    channels: int
    fields: dict[str, str]

    @property
    def tracks(self) -> tuple[Speaker, ...]:
        return ("caller", "agent") if self.channels == 2 else ("caller",)


def parse_start(text: str, query: dict[str, str], default_rate: int = 8000,
                default_mix: str = "mono") -> ForkStart:
    """Parse the first text frame; raise ``IngestError`` with the close code to use."""
    if len(text.encode("utf-8")) > MAX_METADATA_BYTES:
        raise IngestError("too_big", "metadata frame too large", close_code=1009)
    try:
        meta = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise IngestError("bad_metadata", "the first text frame must be JSON metadata") from exc
    if not isinstance(meta, dict):
        raise IngestError("bad_metadata", "metadata must be a JSON object")
    merged: dict[str, Any] = {**query, **meta}
    mix = merged.get("mix_type", default_mix if "channels" not in merged else None)
    if mix is not None and "channels" not in merged:
        if mix not in _MIX:
            raise IngestError("unsupported_format",
                              f"mix_type {mix!r} is not supported (mono or stereo)", 1003)
        merged["channels"] = _MIX[mix]
    try:
        rate = int(merged.get("sample_rate", default_rate))
        channels = int(merged["channels"])
    except (TypeError, ValueError) as exc:
        raise IngestError("bad_metadata", "sample_rate and channels must be integers") from exc
    if rate not in RATES:
        raise IngestError("unsupported_format", f"sample_rate {rate} (use 8000 or 16000)", 1003)
    if channels not in (1, 2):
        raise IngestError("unsupported_format", f"{channels} channels (use 1 or 2)", 1003)
    call_id = str(merged.get("call_id") or merged.get("callId") or merged.get("uuid")
                  or uuid.uuid4())
    agent = merged.get("agent_id")
    fields = {k: str(v) for k, v in merged.items() if isinstance(v, (str, int))}
    return ForkStart(call_id, str(agent) if agent else None, rate, channels, fields)


def split_l16(data: bytes, channels: int) -> list[bytes]:
    """De-interleave L16 frames into one byte string per channel."""
    frame = 2 * channels
    if not data or len(data) % frame:
        raise IngestError("bad_audio",
                          f"{len(data)} bytes is not a whole number of {frame}-byte frames")
    if channels == 1:
        return [bytes(data)]
    import numpy as np

    pairs = np.frombuffer(data, dtype="<i2").reshape(-1, channels)
    return [pairs[:, c].tobytes() for c in range(channels)]


def _error_extra(code: str, message: str) -> dict[str, Any]:
    return {"data": {"code": code, "message": message}}


@router.websocket(PATH)
async def fork_ingest(websocket: WebSocket) -> None:
    """mod_audio_fork stream (see the module docstring)."""
    from app.auth import AuthError, websocket_principal

    await websocket.accept()
    try:
        websocket_principal(websocket, ("ingest", "admin"))
    except AuthError as exc:
        await close_with_error(websocket, exc.code, exc.message, 1008,
                               _error_extra(exc.code, exc.message))
        return
    # At shutdown: "disconnect", which the module raises as mod_audio_fork::disconnect.
    stream = IngestStream(websocket, "fork", farewell={"type": "disconnect"})
    async with registered(stream):
        reason = await _run(websocket, stream)
        await stream.end(reason)


async def _run(websocket: WebSocket, stream: IngestStream) -> str:
    """Read the stream until it ends; returns the reason the call ends with."""
    service = getattr(websocket.app.state, "settings", None)
    max_frame = service.max_frame_bytes if service is not None else 1 << 16
    try:
        first = await websocket.receive()
        if first["type"] == "websocket.disconnect":
            return "stop"
        if first.get("text") is None:
            raise IngestError("bad_order", "the first frame must be the text metadata")
        query = {k: v for k, v in websocket.query_params.items() if k != "token"}
        settings = adapter_settings(websocket.app)
        start = parse_start(first["text"], query, settings.fork_sample_rate,
                            settings.fork_mix_type)
        agent = agent_map(websocket.app).resolve("fork", start.agent_id, start.fields)
        if agent is None:
            raise IngestError("no_agent", "no agent_id in metadata and no agent map entry", 1008)
        registry = call_registry(websocket.app)
        call_id = free_call_id(registry, start.call_id, uuid.uuid4().hex[:8])
        await stream.open(registry, CallMeta(
            call_id=call_id, agent_id=agent, source="fork", tracks=start.tracks,
            custom={"sample_rate": str(start.sample_rate), "channels": str(start.channels)}))
        log.info("fork started", extra={"call_id": call_id, "rate": start.sample_rate,
                                        "channels": start.channels})
        await websocket.send_text(json.dumps(
            {"type": "json", "data": {"type": "started", "call_id": call_id}}))
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes")
            if data is None:
                # send_text (DTMF and the like) or stop's metadata: not audio. Its content may
                # be personal (digits), so only its size is logged.
                log.info("fork text frame ignored",
                         extra={"call_id": call_id, "bytes": len(message.get("text") or "")})
                continue
            if not data:
                # The module's graceful shutdown: no more audio, flush and close.
                break
            if len(data) > max_frame:
                raise IngestError("too_big", f"audio frame of {len(data)} bytes; limit "
                                  f"{max_frame}", close_code=1009)
            for track, chunk in zip(start.tracks, split_l16(data, start.channels), strict=True):
                await stream.push(AudioFrame(track=track, data=chunk,
                                             sample_rate=start.sample_rate,
                                             encoding="pcm_s16le"))
        # End (flush the last utterance) before closing, so results come first.
        await stream.end("stop")
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(1000)
        return "stop"
    except IngestError as exc:
        log.warning("fork refused", extra={"code": exc.code})
        if stream.draining:
            return "shutdown"
        await close_with_error(websocket, exc.code, exc.message, exc.close_code,
                               _error_extra(exc.code, exc.message))
        return "error"
    except WebSocketDisconnect:
        return "stop"
