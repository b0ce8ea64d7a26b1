"""Twilio Media Streams: ``WS /v1/ingest/twilio``.

Messages as Twilio sends them: ``connected``, ``start`` (``callSid``, ``streamSid``, ``tracks``,
``customParameters``, ``mediaFormat``), ``media`` (base64 8 kHz mu-law, ``track`` inbound =
caller, outbound = agent, ``timestamp`` in ms), ``mark``, ``dtmf`` and ``stop``.

``customParameters.agent_id`` names the agent (required); ``customParameters.call_id`` overrides
the call id, else ``callSid`` is used. Twilio's ``<Stream>`` cannot set headers, so besides the
bearer header and ``?token=`` the ingest token may come as ``customParameters.token``
(it is never stored with the call).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, WebSocket

from app import wirejson
from app.ingest.base import CallMeta, IngestError
from app.ingest.skeleton import IngestContext, Started, Stop, serve_stream
from asr.types import AudioFrame, Speaker

log = logging.getLogger("carecue.ingest.twilio")

router = APIRouter(tags=["ingest"])

PATH = "/v1/ingest/twilio"
TRACKS: dict[str, Speaker] = {"inbound": "caller", "outbound": "agent"}


def parse_start(msg: dict[str, Any]) -> tuple[CallMeta, str]:
    """``(meta, streamSid)`` from a Twilio ``start`` event."""
    start = msg.get("start")
    if not isinstance(start, dict):
        raise IngestError("bad_start", "start event without a start object", 1007)
    stream_sid = start.get("streamSid") or msg.get("streamSid")
    call_sid = start.get("callSid")
    params = start.get("customParameters") or {}
    if not isinstance(params, dict):
        raise IngestError("bad_start", "customParameters must be an object", 1007)
    fmt = start.get("mediaFormat") or {}
    if not isinstance(fmt, dict):
        raise IngestError("bad_start", "mediaFormat must be an object", 1007)
    # A member set to null is absent (a serializer's unset field): Twilio's only format.
    fmt = {k: v for k, v in fmt.items() if v is not None}
    encoding = str(fmt.get("encoding", "audio/x-mulaw")).lower()
    if encoding != "audio/x-mulaw":
        raise IngestError(
            "unsupported_encoding", f"media encoding {encoding[:40]!r}; expected audio/x-mulaw",
            1003,
        )
    if _number(fmt.get("sampleRate", 8000)) != 8000 or _number(fmt.get("channels", 1)) != 1:
        raise IngestError("unsupported_encoding", "expected 8000 Hz mono mu-law", 1003)
    agent_id = params.get("agent_id")
    if not isinstance(agent_id, str) or not agent_id:
        raise IngestError("missing_agent_id", "customParameters.agent_id is required", 1007)
    call_id = params.get("call_id") or call_sid
    if not isinstance(call_id, str) or not call_id:
        raise IngestError("bad_start", "start needs callSid or customParameters.call_id", 1007)
    if not isinstance(stream_sid, str) or not stream_sid:
        raise IngestError("bad_start", "start needs a streamSid", 1007)
    raw_tracks = start.get("tracks") or ["inbound", "outbound"]
    if not isinstance(raw_tracks, list):
        raise IngestError("bad_tracks", "tracks must be a list", 1007)
    tracks = tuple(dict.fromkeys(TRACKS[t] for t in raw_tracks if isinstance(t, str)
                                 and t in TRACKS))
    if not tracks:
        raise IngestError("bad_tracks", "no inbound or outbound track", 1007)
    custom = {str(k): str(v) for k, v in params.items()
              if v is not None and str(k).lower() != "token"}
    custom["stream_sid"] = stream_sid
    if call_sid:
        custom["call_sid"] = str(call_sid)
    return CallMeta(call_id, agent_id, "twilio", tracks, custom), stream_sid


def _number(value: Any) -> int | None:
    """An integer field Twilio may send as a number or a numeric string; ``None`` if neither."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _loads(text: str | None) -> dict[str, Any]:
    if text is None:
        raise IngestError("unsupported_data", "Twilio sends JSON text messages only", 1003)
    try:
        msg = wirejson.loads(text)
    except ValueError as exc:
        raise IngestError("malformed_json", "message is not valid JSON", 1007) from exc
    if not isinstance(msg, dict) or not isinstance(msg.get("event"), str):
        raise IngestError("malformed_message", "message has no event", 1007)
    return msg


class TwilioParser:
    """Twilio Media Streams for ``serve_stream``."""

    source = "twilio"
    farewell: Mapping[str, Any] | None = None  # no server message stops a stream: close 1001
    disconnect_reason = "disconnect"
    token_in_start = True  # <Stream> cannot set headers or a query: customParameters.token

    def __init__(self) -> None:
        self.stream_sid: str | None = None
        self.call_id: str | None = None
        self.marks = 0
        self.dtmf = 0

    def error_extra(self, code: str, message: str) -> dict[str, str]:
        """Twilio puts ``event`` (and, once started, ``streamSid``) on every message; tools
        built for Twilio dispatch on them, so the contract's error message carries them too."""
        extra = {"event": "error"}
        if self.stream_sid:
            extra["streamSid"] = self.stream_sid
        return extra

    @staticmethod
    def _event(message: Mapping[str, Any], ctx: IngestContext) -> dict[str, Any]:
        data = message.get("bytes")
        if data is not None:
            if len(data) > ctx.max_frame_bytes * 2:
                raise IngestError("frame_too_big", "message too big", 1009)
            raise IngestError("unsupported_data", "Twilio sends JSON text messages only", 1003)
        text = message.get("text") or ""
        # base64 grows 4/3; JSON wrapping adds a little.
        if len(text) > ctx.max_frame_bytes * 4 // 3 + 1024:
            raise IngestError("frame_too_big", f"message of {len(text)} bytes is too big", 1009)
        return _loads(text)

    def start(self, message: Mapping[str, Any], ctx: IngestContext) -> Started | None:
        # Before start: connected (ignored) then start; anything else is a wrong first message.
        msg = self._event(message, ctx)
        event = msg["event"]
        if event == "connected":
            return None
        if event != "start":
            raise IngestError("expected_start", f"got {event!r} before start", 1007)
        meta, self.stream_sid = parse_start(msg)
        self.call_id = meta.call_id
        params = msg["start"].get("customParameters") or {}
        token = params.get("token")
        # Twilio may fork one call into two streams (inbound_track and outbound_track): the
        # second becomes its own call "<callSid>:<streamSid>" instead of a refusal. Only a
        # call_id the integrator chose refuses duplicates; an empty or null one chose nothing.
        suffix = None if params.get("call_id") else self.stream_sid
        return Started(meta, token=token if isinstance(token, str) else None,
                       duplicate_suffix=suffix)

    def audio(self, message: Mapping[str, Any], ctx: IngestContext) -> list[AudioFrame] | Stop:
        msg = self._event(message, ctx)
        event = msg["event"]
        sid = msg.get("streamSid")
        if sid is not None and sid != self.stream_sid:
            raise IngestError("unknown_call", f"streamSid {sid!r} is not this stream", 1008)
        if event == "media":
            return [self._media(msg, ctx)]
        if event == "stop":
            log.info("twilio stream stopped", extra={"call_id": self.call_id,
                                                     "marks": self.marks, "dtmf": self.dtmf})
            return Stop("stop")
        if event == "mark":
            self.marks += 1
        elif event == "dtmf":
            self.dtmf += 1
        elif event == "start":
            raise IngestError("duplicate_start", "a second start on one stream", 1007)
        return []  # unknown events are ignored: Twilio may add new ones

    @staticmethod
    def _media(msg: dict[str, Any], ctx: IngestContext) -> AudioFrame:
        media = msg.get("media")
        if not isinstance(media, dict) or not isinstance(media.get("payload"), str):
            raise IngestError("bad_media", "media without a payload", 1007)
        raw_track = media.get("track")
        # null is an unset member, as when the key is missing: inbound, the caller
        track = TRACKS.get(str(raw_track if raw_track is not None else "inbound"))
        if track is None:
            raise IngestError("bad_media", f"unknown track {media.get('track')!r}", 1007)
        try:
            data = base64.b64decode(media["payload"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise IngestError("bad_media", "payload is not base64", 1007) from exc
        if len(data) > ctx.max_frame_bytes:
            raise IngestError(
                "frame_too_big",
                f"media chunk of {len(data)} bytes; the limit is {ctx.max_frame_bytes}",
                1009,
            )
        ts = media.get("timestamp")
        try:
            # a bool is no timestamp, though int(True) would read it as 1 ms
            timestamp_s = int(ts) / 1000.0 if ts is not None and not isinstance(ts, bool) else None
        except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity, 400 digits
            timestamp_s = None
        return AudioFrame(track=track, data=data, sample_rate=8000, encoding="mulaw",
                          timestamp_s=timestamp_s)


@router.websocket(PATH)
async def twilio_ingest(ws: WebSocket) -> None:
    """One Twilio Media Stream = one call (see module doc)."""
    await serve_stream(ws, TwilioParser())
