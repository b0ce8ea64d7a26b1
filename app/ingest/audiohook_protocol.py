"""Genesys Cloud AudioHook protocol v2, server side, as a pure state machine (no IO).

The route in ``app/ingest/audiohook.py`` feeds it every websocket message and sends what it
returns. Message shapes follow Genesys' reference implementation
(purecloudlabs/audiohook-reference-implementation, ``protocol/message.ts``):

- every message: ``version: "2"``, ``id`` (session UUID), ``type``, ``seq``, ``parameters``;
- client messages add ``serverseq`` (last server seq seen) and ``position`` (ISO 8601
  duration ``PT1.25S``: audio sent so far);
- server messages add ``clientseq`` (last client seq seen).

Checks: client ``seq`` must be exactly the previous one plus one; ``serverseq`` can never be
ahead of what we sent; ``id`` must stay the session's; ``position`` never goes backwards and
must agree with the audio actually received plus the gaps the client declared with
``discarded``/``resumed``. A ``discarded`` or ``resumed`` message's own position already
includes the gap it declares. While paused the client's clock keeps running (Genesys'
reference client advances ``position`` during a pause and then declares ``resumed`` with
``start`` + ``discarded``), so a paused session only requires the position not to fall behind.
Any violation raises ``ProtocolViolation``; the route answers ``disconnect`` with
``reason: "error"`` and the violation as ``info``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from app import wirejson
from asr import codecs
from asr.errors import AsrError
from asr.types import Speaker

NULL_UUID = "00000000-0000-0000-0000-000000000000"
# \Z, not $: $ also matches before a final newline ("PT1S\n" would pass, then fail float()).
_UUID = re.compile(
    r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-"
    r"[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000)\Z"
)
_DURATION = re.compile(r"^PT(\d*\.)?\d+S\Z")
_LANGUAGE = re.compile(r"^[a-z]{2,3}-[A-Za-z]{2,3}\Z")
MAX_TEXT_BYTES = 65535
RATE = 8000
# A client's position is written with limited precision; allow a couple of milliseconds.
POSITION_TOLERANCE_S = 0.005
CHANNEL_TRACK: dict[str, Speaker] = {"external": "caller", "internal": "agent"}
CLIENT_TYPES = ("open", "close", "ping", "update", "discarded", "paused", "resumed", "error")
CloseReason = Literal["end", "error", "disconnect", "reconnect"]
CLOSE_REASONS = ("end", "error", "disconnect", "reconnect")


class ProtocolViolation(Exception):
    """The client broke the protocol; ``info`` goes into the ``disconnect`` message."""

    def __init__(self, info: str) -> None:
        super().__init__(info)
        self.info = info


class State(Enum):
    PREPARING = "PREPARING"  # waiting for open
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    CLOSED = "CLOSED"  # close answered with closed
    DISCONNECTING = "DISCONNECTING"  # we sent disconnect; only close is still meaningful


def parse_duration(value: Any) -> float:
    """``PT1.5S`` -> 1.5. Raises ``ProtocolViolation`` for anything else."""
    if not isinstance(value, str) or not _DURATION.match(value):
        raise ProtocolViolation(f"invalid duration {value!r}")
    return float(value[2:-1])


def format_duration(seconds: float) -> str:
    """1.5 -> ``PT1.5S`` (millisecond precision, no exponent)."""
    text = f"{max(seconds, 0.0):.3f}".rstrip("0").rstrip(".")
    return f"PT{text}S"


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


@dataclass(frozen=True, slots=True)
class Media:
    """The negotiated media: format, rate and channel order of the interleaved frames."""

    format: Literal["PCMU", "L16"]
    channels: tuple[str, ...]
    rate: int = RATE

    def to_json(self) -> dict[str, Any]:
        return {"type": "audio", "format": self.format, "channels": list(self.channels),
                "rate": self.rate}

    @property
    def bytes_per_sample(self) -> int:
        return codecs.BYTES_PER_SAMPLE["mulaw" if self.format == "PCMU" else "pcm_s16le"]


@dataclass(frozen=True, slots=True)
class ContinuedSession:
    id: str
    serverseq: int
    clientseq: int


@dataclass(frozen=True, slots=True)
class OpenRequest:
    """A validated ``open``: who the call is and what media the client offers."""

    organization_id: str
    conversation_id: str
    participant: dict[str, str]
    offered: tuple[dict[str, Any], ...]
    language: str | None
    custom_config: dict[str, Any]
    continued_sessions: tuple[ContinuedSession, ...]

    @property
    def is_probe(self) -> bool:
        """Genesys tests a new integration with a null conversation id and no real call."""
        return self.conversation_id == NULL_UUID


@dataclass(frozen=True, slots=True)
class ClientMessage:
    type: str
    seq: int
    position_s: float
    parameters: dict[str, Any]
    open: OpenRequest | None = None


@dataclass(frozen=True, slots=True)
class ChannelAudio:
    """One channel's samples out of a binary frame, still in the negotiated encoding."""

    track: Speaker
    data: bytes
    encoding: Literal["mulaw", "pcm_s16le"]
    start_s: float  # stream time of the first sample, counting declared gaps


def select_media(offered: tuple[dict[str, Any], ...]) -> Media | None:
    """Pick the first offered stereo entry we can decode, else the first mono one, preferring
    ``external`` (the caller) over ``internal`` (the agent).

    The server answers with one of the offered entries unchanged (the reference client
    refuses anything else), so an ``internal``-only offer is taken as is: the call then has
    the agent's track only."""
    usable: list[Media] = []
    for entry in offered:
        if not isinstance(entry, dict) or entry.get("type") != "audio":
            continue
        fmt = entry.get("format")
        channels = entry.get("channels")
        if fmt not in ("PCMU", "L16") or entry.get("rate") != RATE:
            continue
        if (
            not isinstance(channels, list)
            or not 1 <= len(channels) <= 2
            or any(not isinstance(ch, str) or ch not in CHANNEL_TRACK for ch in channels)
            or len(set(channels)) != len(channels)
        ):
            continue
        usable.append(Media(format=fmt, channels=tuple(channels)))
    for media in usable:
        if len(media.channels) == 2:
            return media
    for media in usable:
        if media.channels == ("external",):
            return media
    return usable[0] if usable else None


def _validate_open(params: dict[str, Any]) -> OpenRequest:
    org = params.get("organizationId")
    conv = params.get("conversationId")
    participant = params.get("participant")
    media = params.get("media")
    if not is_uuid(org):
        raise ProtocolViolation("open: organizationId must be a UUID")
    if not is_uuid(conv):
        raise ProtocolViolation("open: conversationId must be a UUID")
    if not isinstance(participant, dict) or not all(
        isinstance(participant.get(k), str) for k in ("id", "ani", "aniName", "dnis")
    ):
        raise ProtocolViolation("open: participant needs id, ani, aniName and dnis")
    if not isinstance(media, list):
        raise ProtocolViolation("open: media must be a list")
    language = params.get("language")
    if language is not None and not (isinstance(language, str) and _LANGUAGE.match(language)):
        raise ProtocolViolation("open: invalid language code")
    # customConfig is an optional object (customConfig?: JsonObject): null, as serializers
    # write unset members, is absent, as a null continuedSessions or language already is.
    custom = params.get("customConfig")
    if custom is None:
        custom = {}
    if not isinstance(custom, dict):
        raise ProtocolViolation("open: customConfig must be an object")
    continued_raw = params.get("continuedSessions", []) or []
    if not isinstance(continued_raw, list):
        raise ProtocolViolation("open: continuedSessions must be a list")
    continued: list[ContinuedSession] = []
    for cs in continued_raw:
        if (
            not isinstance(cs, dict)
            or not is_uuid(cs.get("id"))
            or not _is_seq(cs.get("serverseq"))
            or not _is_seq(cs.get("clientseq"))
        ):
            raise ProtocolViolation("open: invalid continuedSessions entry")
        continued.append(ContinuedSession(cs["id"], cs["serverseq"], cs["clientseq"]))
    return OpenRequest(
        organization_id=str(org),
        conversation_id=str(conv),
        participant={k: str(v) for k, v in participant.items() if isinstance(v, str)},
        offered=tuple(media),
        language=language,
        custom_config=custom,
        continued_sessions=tuple(continued),
    )


def _is_seq(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass
class AudioHookSession:
    """Server side of one AudioHook websocket.

    ``session_id`` comes from the ``Audiohook-Session-Id`` header; when absent, the first
    message's id is adopted, as the reference server does.
    """

    session_id: str = NULL_UUID
    state: State = State.PREPARING
    seq: int = 0  # last server seq sent
    clientseq: int = 0  # last client seq received
    media: Media | None = None
    samples_received: int = 0  # per channel
    gaps_s: float = 0.0  # discarded / paused audio the client told us about
    last_position_s: float = 0.0
    open_request: OpenRequest | None = None
    close_reason: str | None = None
    _pending_open: bool = field(default=False, repr=False)

    # -- outgoing -------------------------------------------------------------------------
    def build(self, type_: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        """A server message with the next ``seq`` and the current ``clientseq``."""
        self.seq += 1
        return {
            "version": "2",
            "id": self.session_id,
            "type": type_,
            "seq": self.seq,
            "clientseq": self.clientseq,
            "parameters": parameters or {},
        }

    def opened(self, media: Media | None, start_paused: bool = False) -> dict[str, Any]:
        """Accept the pending ``open`` with ``media`` (``None``: no audio, e.g. a probe)."""
        if not self._pending_open:
            raise RuntimeError("no open to answer")
        self._pending_open = False
        self.media = media
        self.state = State.PAUSED if start_paused else State.ACTIVE
        return self.build(
            "opened",
            {"media": [media.to_json()] if media else [], "startPaused": start_paused},
        )

    def disconnect(self, reason: Literal["completed", "unauthorized", "error"],
                   info: str | None = None) -> dict[str, Any] | None:
        """``disconnect`` the client; ``None`` when the session is already past that point."""
        if self.state in (State.CLOSED, State.DISCONNECTING):
            return None
        self.state = State.DISCONNECTING
        self._pending_open = False
        params: dict[str, Any] = {"reason": reason}
        if info:
            params["info"] = info
        return self.build("disconnect", params)

    def request_pause(self) -> dict[str, Any] | None:
        """Ask the client to stop sending audio (it answers ``paused``)."""
        return self.build("pause") if self.state in (State.ACTIVE, State.PAUSED) else None

    def request_resume(self) -> dict[str, Any] | None:
        """Ask the client to send audio again (it answers ``resumed``)."""
        return self.build("resume") if self.state in (State.ACTIVE, State.PAUSED) else None

    def request_reconnect(self, info: str | None = None) -> dict[str, Any] | None:
        """Ask the client to move to a new connection (e.g. this instance is draining)."""
        if self.state not in (State.ACTIVE, State.PAUSED):
            return None
        return self.build("reconnect", {"info": info} if info else {})

    # -- incoming -------------------------------------------------------------------------
    @property
    def position_s(self) -> float:
        return self.samples_received / RATE

    def receive_text(self, text: str) -> ClientMessage:
        """Validate one client text message and advance the state; raise on violation."""
        msg = _parse_client_message(text)
        seq = msg["seq"]
        if self.state is State.DISCONNECTING:
            # We already gave up on this session (perhaps over its numbering): all that is
            # left is to answer its close, whatever else it still had in flight.
            self.clientseq = seq
            if msg["type"] == "close":
                # Not validated in this state, so an unknown reason (null, a list, any text)
                # must not become the call's end reason.
                reason = msg["parameters"].get("reason")
                self.close_reason = reason if reason in CLOSE_REASONS else "disconnect"
                self.state = State.CLOSED
            return ClientMessage(msg["type"], seq, 0.0, msg["parameters"])
        self._check_numbering(msg)
        position = parse_duration(msg["position"])
        mtype = msg["type"]
        params = msg["parameters"]
        if mtype not in CLIENT_TYPES:
            raise ProtocolViolation(f"'{mtype}' is not a supported client message")
        self._check_position(position, mtype, self._declared_gap(mtype, params))
        if self.state is State.CLOSED:
            raise ProtocolViolation(f"'{mtype}' after the session was closed")
        if mtype == "open":
            if self.state is not State.PREPARING or self._pending_open or self.open_request:
                raise ProtocolViolation(f"unexpected 'open' in state {self.state.value}")
            request = _validate_open(params)
            self.open_request = request
            self._pending_open = True
            return ClientMessage(mtype, seq, position, params, open=request)
        if self.state is State.PREPARING and mtype not in ("close", "error", "ping"):
            raise ProtocolViolation(f"'{mtype}' before 'open'")
        _HANDLERS[mtype](self, params, position)
        return ClientMessage(mtype, seq, position, params)

    def _check_numbering(self, msg: dict[str, Any]) -> None:
        """``seq`` one more than the last, ``serverseq`` not ahead of us, the same ``id``."""
        seq = msg["seq"]
        if seq != self.clientseq + 1:
            raise ProtocolViolation(
                f"invalid seq value {seq} (expected {self.clientseq + 1}, not monotonically "
                "increasing)"
            )
        self.clientseq = seq
        if msg["serverseq"] > self.seq:
            raise ProtocolViolation(
                f"invalid serverseq value {msg['serverseq']} (server sent {self.seq})"
            )
        if msg["id"] != self.session_id:
            if self.session_id == NULL_UUID:
                self.session_id = msg["id"]
            else:
                raise ProtocolViolation("session identifier mismatch")

    # -- one handler per client message type (after numbering and position checks) --------
    def _on_close(self, params: dict[str, Any], position: float) -> None:
        reason = params.get("reason")
        if reason not in CLOSE_REASONS:
            raise ProtocolViolation("close: invalid reason")
        self.close_reason = reason
        self.state = State.CLOSED

    def _on_ping(self, params: dict[str, Any], position: float) -> None:
        if "rtt" in params:
            parse_duration(params["rtt"])

    def _on_update(self, params: dict[str, Any], position: float) -> None:
        lang = params.get("language")
        if not (isinstance(lang, str) and _LANGUAGE.match(lang)):
            raise ProtocolViolation("update: invalid language code")

    def _on_discarded(self, params: dict[str, Any], position: float) -> None:
        start = parse_duration(params.get("start"))
        gap = parse_duration(params.get("discarded"))
        if start > position + POSITION_TOLERANCE_S:
            raise ProtocolViolation("discarded: start is after the current position")
        self.gaps_s += gap

    def _on_paused(self, params: dict[str, Any], position: float) -> None:
        if self.state is State.ACTIVE:
            self.state = State.PAUSED

    def _on_resumed(self, params: dict[str, Any], position: float) -> None:
        parse_duration(params.get("start"))
        gap = parse_duration(params.get("discarded"))
        if self.state is State.PAUSED:
            self.state = State.ACTIVE
            self.gaps_s += gap

    def _on_error(self, params: dict[str, Any], position: float) -> None:
        code = params.get("code")
        if not isinstance(code, int) or not isinstance(params.get("message"), str):
            raise ProtocolViolation("error: needs an integer code and a message")

    def _declared_gap(self, mtype: str, params: dict[str, Any]) -> float:
        """The gap a ``discarded``/``resumed`` message declares (0 for other messages); its
        own ``position`` is already past that gap."""
        if mtype == "discarded" or (mtype == "resumed" and self.state is State.PAUSED):
            return parse_duration(params.get("discarded"))
        return 0.0

    def _check_position(self, position: float, mtype: str, declared_gap_s: float) -> None:
        if position + POSITION_TOLERANCE_S < self.last_position_s:
            raise ProtocolViolation(
                f"position went backwards ({format_duration(position)} < "
                f"{format_duration(self.last_position_s)})"
            )
        low = self.position_s - POSITION_TOLERANCE_S
        high = self.position_s + self.gaps_s + declared_gap_s + POSITION_TOLERANCE_S
        if self.state is State.PAUSED and mtype != "resumed":
            # The client's clock runs on during a pause; 'resumed' declares how far.
            high = float("inf")
        if not low <= position <= high:
            raise ProtocolViolation(
                f"position {format_duration(position)} does not match the "
                f"{format_duration(self.position_s)} of audio received"
            )
        self.last_position_s = position

    def receive_audio(self, data: bytes) -> list[ChannelAudio]:
        """Split one binary frame into per-channel audio; raise on violation."""
        if self.state is State.DISCONNECTING:
            return []
        if not data and self.state is not State.CLOSED:
            # Genesys' reference server accepts an empty frame (0 samples) in any state;
            # clients send one at the end of a file and as a connection check.
            return []
        if self.state is not State.ACTIVE:
            raise ProtocolViolation(f"received audio in state {self.state.value}")
        if self.media is None:
            raise ProtocolViolation("unexpected binary message: no media selected")
        encoding: Literal["mulaw", "pcm_s16le"] = (
            "mulaw" if self.media.format == "PCMU" else "pcm_s16le"
        )
        channels = len(self.media.channels)
        try:
            chunks = codecs.split_channels(bytes(data), encoding, channels)
        except AsrError as exc:
            raise ProtocolViolation(
                f"binary data not a valid audio frame: {len(data)} bytes is not a multiple "
                f"of {self.media.bytes_per_sample * channels}"
            ) from exc
        start = self.position_s + self.gaps_s
        self.samples_received += len(chunks[0]) // self.media.bytes_per_sample
        return [ChannelAudio(CHANNEL_TRACK[channel], chunk, encoding, start)
                for channel, chunk in zip(self.media.channels, chunks, strict=True)]


_HANDLERS: dict[str, Callable[[AudioHookSession, dict[str, Any], float], None]] = {
    "close": AudioHookSession._on_close,
    "ping": AudioHookSession._on_ping,
    "update": AudioHookSession._on_update,
    "discarded": AudioHookSession._on_discarded,
    "paused": AudioHookSession._on_paused,
    "resumed": AudioHookSession._on_resumed,
    "error": AudioHookSession._on_error,
}


def _parse_client_message(text: str) -> dict[str, Any]:
    """The JSON of a well-formed client message; ``ProtocolViolation`` for anything else."""
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        raise ProtocolViolation("text message too large (>64K)")
    try:
        msg = wirejson.loads(text)
    except ValueError as exc:
        raise ProtocolViolation("text message not valid JSON") from exc
    if (
        not isinstance(msg, dict)
        or msg.get("version") != "2"
        or not is_uuid(msg.get("id"))
        or not isinstance(msg.get("type"), str)
        or not _is_seq(msg.get("seq"))
        or not _is_seq(msg.get("serverseq"))
        or not isinstance(msg.get("parameters"), dict)
        or not isinstance(msg.get("position"), str)
    ):
        raise ProtocolViolation("message not a well-formed client message")
    return msg
