"""Asterisk AudioSocket: a TCP listener speaking AudioSocket's type-length-value frames.

Frame: 1 byte kind, 2 bytes payload length (big-endian), payload. Kinds, as Asterisk's
AudioSocket documentation lists them: ``0x00`` hangup, ``0x01`` UUID (16 bytes), ``0x02``
silence (CyCoreSystems/audiosocket), ``0x03`` DTMF (1 ASCII byte), ``0x10``-``0x18`` signed
linear 16-bit mono little-endian audio at 8, 12, 16, 24, 32, 44.1, 48, 96 and 192 kHz, ``0xff``
error (optional code byte). The first Asterisk release with 16 kHz used ``0x11`` for it;
``CARECUE_AUDIOSOCKET_LEGACY_KINDS=true`` reads ``0x11`` that way.

One AudioSocket connection carries one channel's audio, so a call has two connections (legs)
with the same UUID; the UUID is the call id and joins them. Which leg is which:

- with ``CARECUE_AUDIOSOCKET_AGENT_PORT`` set, connections on that port are the agent leg and
  those on ``CARECUE_AUDIOSOCKET_PORT`` the caller leg;
- otherwise the first connection for a UUID is the caller and the second the agent (the
  dialplan starts the caller's AudioSocket before it dials the agent).

The agent comes from the agent map (``audiosocket: {uuid: {...}}``) or its ``default``; the
protocol carries nothing else.

CareCue never sends an ``0xff`` frame: Asterisk's ``app_audiosocket`` treats any kind but
audio or hangup as a failure and hangs up the channel, which would be the patient's call. A
frame CareCue cannot use (unknown kind, half a sample, audio before the UUID, a second UUID,
silence) is logged and dropped. Only what makes the leg unusable closes that connection,
silently: no UUID within ``CARECUE_INGEST_HANDSHAKE_TIMEOUT_S``, no whole audio (or silence)
frame within ``CARECUE_INGEST_IDLE_TIMEOUT_S`` after it (bytes of a frame that never
completes do not count), a leg already connected for that UUID, no agent for the call, a
refused call, or a truncated frame at the end of the stream. The other leg and other calls
carry on.

A call ends when its last leg goes, once both legs have been seen. Until then the other leg
may still be on its way (a call of a few hundred ms can hang up its caller leg before the
agent leg's UUID arrives), so a call whose only leg has gone stays open for
``CARECUE_AUDIOSOCKET_LEG_GRACE_S`` and the second leg joins it as usual; nobody comes, it
ends then with that leg's reason. A leg that arrives later (after the grace) waits, if the
call is still ending, for the end and starts a new call; it is never refused as a duplicate
of the call it came too late for. The call registry gives that call its own id,
``<uuid>:2`` (``app.calls``): the ended call's record is never reopened or written over. A
third leg, or one for a track already connected, is still closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter

from app.ingest.base import CallHandle, CallMeta, CallRegistry, IngestError
from app.ingest.lifecycle import Deadline, IngestTimeout
from app.ingest.settings import AdapterSettings, AgentMap
from asr.types import AudioFrame, Speaker

log = logging.getLogger(__name__)

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_SILENCE = 0x02
KIND_DTMF = 0x03
KIND_SLIN_8K = 0x10
KIND_ERROR = 0xFF
# Asterisk's current numbering: one kind per rate.
AUDIO_RATES: dict[int, int] = {0x10: 8000, 0x11: 12000, 0x12: 16000, 0x13: 24000, 0x14: 32000,
                               0x15: 44100, 0x16: 48000, 0x17: 96000, 0x18: 192000}
# The first Asterisk release that carried 16 kHz numbered it 0x11.
LEGACY_AUDIO_RATES: dict[int, int] = {0x10: 8000, 0x11: 16000}
KIND_SLIN_16K = 0x12
KNOWN_KINDS = {KIND_HANGUP, KIND_UUID, KIND_SILENCE, KIND_DTMF, KIND_ERROR, *AUDIO_RATES}
HEADER = struct.Struct(">BH")


class FrameError(Exception):
    """The byte stream is not valid AudioSocket framing."""


@dataclass(frozen=True, slots=True)
class Frame:
    kind: int
    payload: bytes


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    """One AudioSocket frame."""
    if not 0 <= kind <= 0xFF or len(payload) > 0xFFFF:
        raise ValueError("kind must be a byte and payload at most 65535 bytes")
    return HEADER.pack(kind, len(payload)) + payload


def uuid_frame(call_uuid: uuid.UUID | str) -> bytes:
    """The UUID frame Asterisk sends first (16 raw bytes)."""
    value = call_uuid if isinstance(call_uuid, uuid.UUID) else uuid.UUID(str(call_uuid))
    return encode_frame(KIND_UUID, value.bytes)


class FrameDecoder:
    """Incremental decoder: ``feed`` bytes, iterate whole frames; ``eof`` checks leftovers."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[Frame]:
        self._buf.extend(data)
        while len(self._buf) >= HEADER.size:
            kind, length = HEADER.unpack_from(self._buf)
            if len(self._buf) < HEADER.size + length:
                break
            payload = bytes(self._buf[HEADER.size : HEADER.size + length])
            del self._buf[: HEADER.size + length]
            yield Frame(kind, payload)

    def eof(self) -> None:
        if self._buf:
            raise FrameError(f"truncated frame: {len(self._buf)} bytes left at end of stream")


def check_frame(frame: Frame, rates: dict[int, int] = AUDIO_RATES) -> None:
    """Validate a frame's kind and payload size; raise ``FrameError``."""
    if frame.kind not in KNOWN_KINDS and frame.kind not in rates:
        raise FrameError(f"unknown frame kind 0x{frame.kind:02x}")
    if frame.kind == KIND_UUID and len(frame.payload) != 16:
        raise FrameError(f"UUID payload must be 16 bytes, got {len(frame.payload)}")
    if frame.kind == KIND_DTMF and len(frame.payload) != 1:
        raise FrameError("DTMF payload must be 1 byte")
    if frame.kind in rates and len(frame.payload) % 2:
        raise FrameError("audio payload must be whole 16-bit samples")


class LegClosed(Exception):
    """This leg cannot go on (the reason is logged); its connection is closed, silently."""


@dataclass
class _Leg:
    """One connection: its role by port (if any), and the call and track once joined."""

    role: Speaker | None
    call: _Call | None = None
    track: Speaker | None = None
    deadline: Deadline | None = None
    end_reason: str = "hangup"  # how this leg's call ends if it is the last leg to go
    drops: int = 0

    @property
    def call_id(self) -> str | None:
        """The id the call got (``<uuid>:2`` for a new call under an ended call's UUID)."""
        return self.call.handle.call_id if self.call is not None else None

    def dropped(self, why: str) -> None:
        self.drops += 1
        # One line per leg at warning level, then debug: a misbehaving peer must not flood.
        level = logging.WARNING if self.drops == 1 else logging.DEBUG
        log.log(level, "audiosocket frame dropped",
                extra={"call_id": self.call_id, "error": why, "drops": self.drops})


@dataclass
class _Call:
    call_id: str  # the UUID, which joins the legs; ``handle.call_id`` is the call's own id
    handle: CallHandle
    legs: set[Speaker] = field(default_factory=set)
    ended: bool = False  # ending or ended: no leg joins it any more
    seen: int = 0  # legs that ever connected
    end_reason: str = "hangup"  # the last leg's, for a call ended after its grace
    parked: asyncio.Task[None] | None = None  # ends the call unless its other leg comes
    finished: asyncio.Event = field(default_factory=asyncio.Event)  # handle.end() returned


class AudioSocketServer:
    """Accepts AudioSocket legs and feeds their audio into calls on the registry."""

    def __init__(self, registry: Callable[[], CallRegistry], settings: AdapterSettings,
                 agents: AgentMap) -> None:
        self._registry = registry
        self._settings = settings
        self._agents = agents
        self._calls: dict[str, _Call] = {}
        self._lock = asyncio.Lock()
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False

    @property
    def ports(self) -> list[int]:
        """The bound ports (useful when configured with port 0)."""
        return [s.sockets[0].getsockname()[1] for s in self._servers if s.sockets]

    async def start(self) -> None:
        s = self._settings
        if s.audiosocket_port is None:
            return
        caller_role: Speaker | None = None if s.audiosocket_agent_port is None else "caller"
        self._servers.append(await asyncio.start_server(
            lambda r, w: self._spawn(r, w, caller_role), s.audiosocket_host, s.audiosocket_port))
        if s.audiosocket_agent_port is not None:
            self._servers.append(await asyncio.start_server(
                lambda r, w: self._spawn(r, w, "agent"), s.audiosocket_host,
                s.audiosocket_agent_port))
        log.info("audiosocket listening", extra={"ports": self.ports})

    async def close(self) -> None:
        self._closing = True  # legs cut from here on end their calls as "shutdown"
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
        async with self._lock:  # calls waiting for their other leg will not get it now
            parked = [c for c in self._calls.values() if c.parked is not None and not c.ended]
            for call in parked:
                assert call.parked is not None
                call.parked.cancel()
                call.parked = None
                call.ended = True
        for call in parked:
            with contextlib.suppress(Exception):
                await self._finish(call)

    def _spawn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
               role: Speaker | None) -> None:
        task = asyncio.create_task(self._serve(reader, writer, role))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     role: Speaker | None) -> None:
        leg = _Leg(role)
        try:
            await self._read_leg(reader, leg)
        except FrameError as exc:
            log.warning("audiosocket stream ended badly",
                        extra={"call_id": leg.call_id, "error": str(exc)})
        except LegClosed as exc:
            log.warning("audiosocket leg closed", extra={"call_id": leg.call_id,
                                                         "reason": str(exc)})
        except IngestError as exc:  # IngestTimeout too: handshake or idle deadline
            log.warning("audiosocket refused", extra={"call_id": leg.call_id, "code": exc.code})
            if isinstance(exc, IngestTimeout):
                leg.end_reason = "timeout"
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # a bug on odd input: this leg ends, logged to be fixed
            log.exception("audiosocket leg failed", extra={"call_id": leg.call_id})
        finally:
            if leg.call is not None and leg.track is not None:
                await self._leave(leg.call, leg.track, leg.end_reason)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_leg(self, reader: asyncio.StreamReader, leg: _Leg) -> None:
        """Read frames until hangup or end of stream; drop (and log) what cannot be used."""
        decoder = FrameDecoder()
        rates = LEGACY_AUDIO_RATES if self._settings.audiosocket_legacy_kinds else AUDIO_RATES
        s = self._settings
        leg.deadline = deadline = Deadline(s.ingest_handshake_timeout_s, s.ingest_idle_timeout_s)
        while True:
            data = await deadline.wait(reader.read(65536))
            if not data:
                decoder.eof()
                return
            for frame in decoder.feed(data):
                if await self._on_frame(frame, leg, rates):
                    return

    async def _on_frame(self, frame: Frame, leg: _Leg, rates: dict[int, int]) -> bool:
        """Handle one frame; ``True`` when the leg hung up."""
        try:
            check_frame(frame, rates)
        except FrameError as exc:
            leg.dropped(str(exc))
            return False
        if frame.kind == KIND_HANGUP:
            return True
        if frame.kind == KIND_ERROR:
            code = frame.payload[0] if frame.payload else None
            log.warning("audiosocket peer error", extra={"call_id": leg.call_id, "code": code})
            return True
        if frame.kind == KIND_UUID:
            if leg.call is not None:
                leg.dropped("a second UUID frame on one connection")
                return False
            leg.call, leg.track = await self._join(str(uuid.UUID(bytes=frame.payload)),
                                                   leg.role)
            if leg.deadline is not None:
                leg.deadline.started()
            return False
        if frame.kind == KIND_DTMF:
            return False  # digits are not speech
        if leg.deadline is not None and leg.call is not None:
            leg.deadline.progress()  # a whole audio or silence frame: the line is alive
        if frame.kind == KIND_SILENCE:
            return False  # no samples to transcribe
        if leg.call is None or leg.track is None:
            leg.dropped("audio before the UUID")
            return False
        await leg.call.handle.push(AudioFrame(
            track=leg.track, data=frame.payload, sample_rate=rates[frame.kind],
            encoding="pcm_s16le"))
        return False

    async def _join(self, call_id: str, role: Speaker | None) -> tuple[_Call, Speaker]:
        while True:
            async with self._lock:
                call = self._calls.get(call_id)
                if call is None or not call.ended:
                    return await self._join_locked(call_id, call, role)
                if call.seen >= 2:
                    raise LegClosed("both legs of this call have already connected")
                ending = call.finished
            # The call this leg came too late for is still flushing; the registry holds its
            # id until then. Wait (outside the lock: other calls go on) and start afresh.
            await ending.wait()

    async def _join_locked(self, call_id: str, call: _Call | None,
                           role: Speaker | None) -> tuple[_Call, Speaker]:
        if call is None:
            track: Speaker = role or "caller"
            agent = self._agents.resolve("audiosocket", None, {"uuid": call_id})
            if agent is None:
                raise IngestError("no_agent", "no agent mapped for this AudioSocket call",
                                  close_code=1008)
            handle = await self._registry().open_call(CallMeta(
                call_id=call_id, agent_id=agent, source="audiosocket"))
            call = _Call(call_id, handle)
            self._calls[call_id] = call
        else:
            track = role or ("agent" if call.seen else "caller")
            if track in call.legs or call.seen >= 2:
                raise LegClosed(f"the {track} leg of this call is already connected")
            if call.parked is not None:  # the other leg of a call whose first leg has gone
                call.parked.cancel()
                call.parked = None
        call.legs.add(track)
        call.seen += 1
        log.info("audiosocket leg joined", extra={"call_id": call.handle.call_id,
                                                  "uuid": call_id, "track": track})
        return call, track

    async def _leave(self, call: _Call, track: Speaker, reason: str = "hangup") -> None:
        grace = self._settings.audiosocket_leg_grace_s
        async with self._lock:
            call.legs.discard(track)
            if call.legs or call.ended or call.parked is not None:
                return
            call.end_reason = reason
            if call.seen < 2 and grace > 0 and not self._closing:
                call.parked = asyncio.create_task(self._end_unless_joined(call, grace))
                return
            call.ended = True
        await self._finish(call)

    async def _end_unless_joined(self, call: _Call, grace_s: float) -> None:
        await asyncio.sleep(grace_s)
        async with self._lock:
            # A leg that joins holds the lock while it cancels this task, so here none has.
            call.ended = True  # call.parked stays: it holds this task while the call ends
        log.info("audiosocket call ended without its other leg",
                 extra={"call_id": call.handle.call_id, "grace_s": grace_s})
        try:
            await self._finish(call)
        except Exception:  # nobody awaits this task: log here
            log.exception("audiosocket call failed to end",
                          extra={"call_id": call.handle.call_id})

    async def _finish(self, call: _Call) -> None:
        try:
            await call.handle.end("shutdown" if self._closing else call.end_reason)
        finally:
            # Kept in _calls until now, so a leg arriving meanwhile waits instead of opening
            # the same call id again while the registry still holds it.
            if self._calls.get(call.call_id) is call:
                del self._calls[call.call_id]
            call.finished.set()


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    await start_audiosocket(app)
    try:
        yield
    finally:
        await stop_audiosocket(app)


# No routes: mounting this router ties the listener to the app's lifespan (FastAPI merges
# router lifespans into the app's, inside the app's own start-up).
router = APIRouter(lifespan=_lifespan)


async def start_audiosocket(app: Any) -> AudioSocketServer | None:
    """Start the listener when configured; the server is kept at ``app.state.audiosocket``."""
    from app.ingest.context import adapter_settings, agent_map, call_registry

    settings = adapter_settings(app)
    if settings.audiosocket_port is None:
        return None
    server = AudioSocketServer(lambda: call_registry(app), settings, agent_map(app))
    await server.start()
    app.state.audiosocket = server
    return server


async def stop_audiosocket(app: Any) -> None:
    """Stop the listener started by ``start_audiosocket`` (no-op when it was off)."""
    server = getattr(app.state, "audiosocket", None)
    if server is not None:
        await server.close()
        app.state.audiosocket = None
