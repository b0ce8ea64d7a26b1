"""FreeSWITCH ``mod_audio_fork`` (and look-alikes) at ``WS /v1/ingest/fork``.

``uuid_audio_fork <uuid> start wss://host/v1/ingest/fork?token=... stereo 16k '<metadata>'``
opens the socket, sends the metadata string as the first text frame, then binary frames of
16-bit little-endian linear PCM (L16) at the chosen rate; ``stereo`` puts the caller in
channel 0 and the agent in channel 1, ``mono`` carries the caller only. ``uuid_audio_fork
<uuid> stop ['<metadata>']`` sends an optional last text frame and closes the socket.

The stream itself does not say its rate or layout, so the metadata (or the URL query) must:

    {"call_id": "...", "agent_id": "A1", "sample_rate": 16000, "channels": 2}

``mix_type`` ("mono"/"stereo") may stand for ``channels``; ``uuid`` for ``call_id``. Without
``agent_id`` every string metadata field is offered to the agent map (``fork: {...}``).
Mixed audio (both parties in one channel) cannot be told apart and is refused (1003).
The server answers ``{"type": "started", "call_id": ...}`` (mod_audio_fork raises it as a
``mod_audio_fork::json`` event) and closes 1000 after the stream ends.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.ingest.base import CallHandle, CallMeta, IngestError
from app.ingest.context import agent_map, call_registry, free_call_id
from app.wsclose import close_with_error
from asr.types import AudioFrame, Speaker

log = logging.getLogger(__name__)

router = APIRouter()
PATH = "/v1/ingest/fork"
RATES = (8000, 16000)
MAX_METADATA_BYTES = 16384
MAX_FRAME_BYTES = 1 << 20
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


def parse_start(text: str, query: dict[str, str]) -> ForkStart:
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
    mix = merged.get("mix_type")
    if mix is not None and "channels" not in merged:
        if mix not in _MIX:
            raise IngestError("unsupported_format",
                              f"mix_type {mix!r} is not supported (mono or stereo)", 1003)
        merged["channels"] = _MIX[mix]
    try:
        rate = int(merged["sample_rate"])
        channels = int(merged["channels"])
    except KeyError as exc:
        raise IngestError("bad_metadata",
                          f"metadata needs {exc.args[0]!r} (the stream does not say)") from exc
    except (TypeError, ValueError) as exc:
        raise IngestError("bad_metadata", "sample_rate and channels must be integers") from exc
    if rate not in RATES:
        raise IngestError("unsupported_format", f"sample_rate {rate} (use 8000 or 16000)", 1003)
    if channels not in (1, 2):
        raise IngestError("unsupported_format", f"{channels} channels (use 1 or 2)", 1003)
    call_id = str(merged.get("call_id") or merged.get("uuid") or uuid.uuid4())
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


@router.websocket(PATH)
async def fork_ingest(websocket: WebSocket) -> None:
    """mod_audio_fork stream (see the module docstring)."""
    from app.auth import AuthError, websocket_principal

    await websocket.accept()
    try:
        websocket_principal(websocket, ("ingest", "admin"))
    except AuthError as exc:
        await close_with_error(websocket, exc.code, exc.message, 1008)
        return
    handle: CallHandle | None = None
    reason = "stop"
    try:
        first = await websocket.receive()
        if first["type"] == "websocket.disconnect":
            return
        if first.get("text") is None:
            raise IngestError("bad_order", "the first frame must be the text metadata")
        query = {k: v for k, v in websocket.query_params.items() if k != "token"}
        start = parse_start(first["text"], query)
        agent = agent_map(websocket.app).resolve("fork", start.agent_id, start.fields)
        if agent is None:
            raise IngestError("no_agent", "no agent_id in metadata and no agent map entry", 1008)
        registry = call_registry(websocket.app)
        call_id = free_call_id(registry, start.call_id, uuid.uuid4().hex[:8])
        handle = await registry.open_call(CallMeta(
            call_id=call_id, agent_id=agent, source="fork", tracks=start.tracks,
            custom={"sample_rate": str(start.sample_rate), "channels": str(start.channels)}))
        log.info("fork started", extra={"call_id": call_id, "rate": start.sample_rate,
                                        "channels": start.channels})
        await websocket.send_text(json.dumps({"type": "started", "call_id": call_id}))
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes")
            if data is None:
                # mod_audio_fork's optional stop metadata; nothing follows it.
                break
            if len(data) > MAX_FRAME_BYTES:
                raise IngestError("too_big", "audio frame too large", close_code=1009)
            for track, chunk in zip(start.tracks, split_l16(data, start.channels), strict=True):
                await handle.push(AudioFrame(track=track, data=chunk,
                                             sample_rate=start.sample_rate,
                                             encoding="pcm_s16le"))
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(1000)
    except IngestError as exc:
        reason = "error"
        log.warning("fork refused", extra={"code": exc.code})
        await close_with_error(websocket, exc.code, exc.message, exc.close_code)
    except WebSocketDisconnect:
        pass
    finally:
        if handle is not None:
            await handle.end(reason)
