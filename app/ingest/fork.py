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
``call_id``. Missing or null, they default to ``CARECUE_FORK_SAMPLE_RATE`` (8000) and
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

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket

from app import wirejson
from app.ingest.base import CallMeta, IngestError
from app.ingest.skeleton import IngestContext, Started, Stop, serve_stream, split_frame
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
        meta = wirejson.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise IngestError("bad_metadata", "the first text frame must be JSON metadata") from exc
    if not isinstance(meta, dict):
        raise IngestError("bad_metadata", "metadata must be a JSON object")
    # A null member is an unset option (what JSON serializers write): absent, so the URL
    # query or the default applies to it as to a missing key.
    merged: dict[str, Any] = {**query, **{k: v for k, v in meta.items() if v is not None}}
    if "channels" not in merged:
        mix = merged.get("mix_type")
        if mix is None:  # absent (or null): the configured default
            mix = default_mix
        if not isinstance(mix, str) or mix not in _MIX:
            raise IngestError("unsupported_format",
                              f"mix_type {mix!r} is not supported (mono or stereo)", 1003)
        merged["channels"] = _MIX[mix]
    try:
        rate = _integer(merged.get("sample_rate", default_rate))
        channels = _integer(merged["channels"])
    except (TypeError, ValueError, OverflowError) as exc:
        raise IngestError("bad_metadata", "sample_rate and channels must be integers") from exc
    if rate not in RATES:
        raise IngestError("unsupported_format", f"sample_rate {rate} (use 8000 or 16000)", 1003)
    if channels not in (1, 2):
        raise IngestError("unsupported_format", f"{channels} channels (use 1 or 2)", 1003)
    call_id = (_id(merged, "call_id") or _id(merged, "callId") or _id(merged, "uuid")
               or str(uuid.uuid4()))
    agent = _id(merged, "agent_id")
    fields = {k: str(v) for k, v in merged.items() if isinstance(v, (str, int))}
    return ForkStart(call_id, agent, rate, channels, fields)


def _id(merged: Mapping[str, Any], key: str) -> str | None:
    """An id member: a string or an integer, as text; ``None`` when absent or empty. A list,
    object or bool would become an id nobody sent ("['A1']", "True"): refused."""
    value = merged.get(key)
    if isinstance(value, bool) or (value and not isinstance(value, (str, int))):
        raise IngestError("bad_metadata", f"{key} must be a string")
    return str(value) if value else None


def _integer(value: Any) -> int:
    """A JSON integer or (from the URL query) a numeric string. ``int()`` alone would take
    ``true`` as 1 and truncate 1.5; ``ValueError`` for those."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{value!r} is not an integer")
    return int(value)


class ForkParser:
    """mod_audio_fork for ``serve_stream``."""

    source = "fork"
    # At shutdown: "disconnect", which the module raises as mod_audio_fork::disconnect.
    farewell: Mapping[str, Any] | None = {"type": "disconnect"}
    disconnect_reason = "stop"  # uuid_audio_fork stop closes the socket
    token_in_start = False

    def __init__(self, query: Mapping[str, str]) -> None:
        self.query = {k: v for k, v in query.items() if k != "token"}
        self.fork: ForkStart | None = None

    def error_extra(self, code: str, message: str) -> dict[str, Any]:
        """mod_audio_fork raises mod_audio_fork::error with the ``data`` member as its body."""
        return {"data": {"code": code, "message": message}}

    def start(self, message: Mapping[str, Any], ctx: IngestContext) -> Started:
        if message.get("text") is None:
            raise IngestError("bad_order", "the first frame must be the text metadata")
        start = parse_start(message["text"], self.query, ctx.adapters.fork_sample_rate,
                            ctx.adapters.fork_mix_type)
        agent = ctx.agents.resolve("fork", start.agent_id, start.fields)
        if agent is None:
            raise IngestError("no_agent", "no agent_id in metadata and no agent map entry", 1008)
        self.fork = start
        log.info("fork started", extra={"call_id": start.call_id, "rate": start.sample_rate,
                                        "channels": start.channels})
        meta = CallMeta(call_id=start.call_id, agent_id=agent, source="fork", tracks=start.tracks,
                        custom={"sample_rate": str(start.sample_rate),
                                "channels": str(start.channels)})
        return Started(meta, reply={"type": "json",
                                    "data": {"type": "started", "call_id": None}},
                       duplicate_suffix=uuid.uuid4().hex[:8])

    def audio(self, message: Mapping[str, Any], ctx: IngestContext) -> list[AudioFrame] | Stop:
        assert self.fork is not None
        data = message.get("bytes")
        if data is None:
            text = message.get("text") or ""
            if len(text) > MAX_METADATA_BYTES:
                raise IngestError("too_big", f"text frame of {len(text)} characters; limit "
                                  f"{MAX_METADATA_BYTES}", close_code=1009)
            # send_text (DTMF and the like) or stop's metadata: not audio. Its content may be
            # personal (digits), so only its size is logged.
            log.info("fork text frame ignored",
                     extra={"call_id": self.fork.call_id,
                            "bytes": len(text)})
            return []
        if not data:
            return Stop("stop")  # the module's graceful shutdown: flush, then we close
        if len(data) > ctx.max_frame_bytes:
            raise IngestError("too_big", f"audio frame of {len(data)} bytes; limit "
                              f"{ctx.max_frame_bytes}", close_code=1009)
        chunks = split_frame(data, "pcm_s16le", self.fork.channels)
        return [AudioFrame(track=track, data=chunk, sample_rate=self.fork.sample_rate,
                           encoding="pcm_s16le")
                for track, chunk in zip(self.fork.tracks, chunks, strict=True)]


@router.websocket(PATH)
async def fork_ingest(websocket: WebSocket) -> None:
    """mod_audio_fork stream (see the module docstring)."""
    await serve_stream(websocket, ForkParser(websocket.query_params))
