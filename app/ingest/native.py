"""Native ingest: ``WS /v1/ingest/stream``.

First text frame ``{"type":"start","call_id","agent_id","encoding","sample_rate","channels",
"tracks"}``; the server answers ``{"type":"started","call_id"}``. Then binary audio frames
(interleaved when 2 channels, track order as in ``tracks``) and finally ``{"type":"stop"}``,
answered with ``{"type":"stopped","call_id"}`` and close 1000. A disconnect ends the call too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, WebSocket

from app import wirejson
from app.ingest.base import CallMeta, IngestError
from app.ingest.skeleton import IngestContext, Started, Stop, serve_stream, split_frame
from asr.codecs import SUPPORTED_RATES
from asr.types import ENCODINGS, SPEAKERS, AudioFrame, Speaker

router = APIRouter(tags=["ingest"])

PATH = "/v1/ingest/stream"
# The telephony and wideband rates the resampler takes, up to 48 kHz.
NATIVE_RATES: tuple[int, ...] = tuple(r for r in SUPPORTED_RATES if r <= 48000)


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
    # Only rates the resampler takes: any other would fail in the transcriber, after start.
    if not isinstance(rate, int) or isinstance(rate, bool) or rate not in NATIVE_RATES:
        raise IngestError("unsupported_sample_rate",
                          f"sample_rate must be one of {', '.join(map(str, NATIVE_RATES))}",
                          1003)
    channels = msg.get("channels", 1)
    if not isinstance(channels, int) or isinstance(channels, bool) or channels not in (1, 2):
        raise IngestError("unsupported_channels", "channels must be 1 or 2", 1003)
    tracks_raw = msg.get("tracks") or (["caller", "agent"] if channels == 2 else ["caller"])
    if (
        not isinstance(tracks_raw, list)
        or len(tracks_raw) != channels
        or any(not isinstance(t, str) or t not in SPEAKERS for t in tracks_raw)
        or len(set(tracks_raw)) != len(tracks_raw)
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
        custom={str(k): str(v) for k, v in custom.items() if v is not None},
    )
    return meta, encoding, rate, channels


class NativeParser:
    """The native protocol for ``serve_stream``."""

    source = "native"
    farewell: Mapping[str, Any] | None = {"type": "stopped", "call_id": None,
                                          "reason": "shutdown"}
    disconnect_reason = "disconnect"
    token_in_start = False

    def __init__(self) -> None:
        self.meta: CallMeta | None = None
        self.encoding = "pcm_s16le"
        self.rate = 8000
        self.channels = 1

    def error_extra(self, code: str, message: str) -> dict[str, Any]:
        return {}

    def start(self, message: Mapping[str, Any], ctx: IngestContext) -> Started:
        if message.get("text") is None:
            raise IngestError("expected_start", "the first message must be a JSON start", 1007)
        try:
            start = wirejson.loads(message["text"])
        except ValueError as exc:
            raise IngestError(
                "malformed_json", "the start message is not valid JSON", 1007
            ) from exc
        self.meta, self.encoding, self.rate, self.channels = parse_start(start)
        return Started(self.meta, reply={"type": "started", "call_id": None})

    def audio(self, message: Mapping[str, Any], ctx: IngestContext) -> list[AudioFrame] | Stop:
        assert self.meta is not None
        data = message.get("bytes")
        if data is not None:
            if len(data) > ctx.max_frame_bytes:
                raise IngestError(
                    "frame_too_big", f"frame of {len(data)} bytes; limit {ctx.max_frame_bytes}",
                    1009,
                )
            chunks = split_frame(data, self.encoding, self.channels, code="bad_frame")
            return [AudioFrame(track=track, data=chunk, sample_rate=self.rate,
                               encoding=self.encoding)  # type: ignore[arg-type]
                    for track, chunk in zip(self.meta.tracks, chunks, strict=True)]
        try:
            ctrl = wirejson.loads(message.get("text") or "")
        except ValueError as exc:
            raise IngestError("malformed_json", "control message is not valid JSON", 1007) from exc
        if isinstance(ctrl, dict) and ctrl.get("type") == "stop":
            return Stop("stop", reply={"type": "stopped", "call_id": None})
        raise IngestError("unknown_message", 'expected audio or {"type":"stop"}', 1007)


@router.websocket(PATH)
async def native_ingest(ws: WebSocket) -> None:
    """Stream one call's audio (see module doc)."""
    await serve_stream(ws, NativeParser())
