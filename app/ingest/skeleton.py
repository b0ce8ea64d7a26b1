"""The one ladder every websocket call adapter climbs: auth, accept, start, open the call,
frames, end and close. Each platform supplies only a parser (``StreamParser``) that turns its
messages into a ``Started``, audio frames or a ``Stop``, as ``audiohook_protocol`` does for
AudioHook (whose session protocol is richer and keeps its own loop).

What the skeleton does, the same for every platform:

- authenticate from the bearer header or ``?token=``; a parser may allow the token to come in
  its start message instead (Twilio's ``customParameters.token``);
- wait for the start, within the handshake deadline (``lifecycle.Deadline``), resolve a free
  call id when the parser asks for one, open the call and send the parser's reply;
- push frames until the parser says ``Stop`` (its reply is sent, the call ended, close 1000)
  or the socket drops (the call ends with the parser's ``disconnect_reason``); a stream
  without audio for the idle deadline is closed (1008 ``idle_timeout``, the call ends as
  ``timeout``);
- any ``IngestError`` sends the contract's JSON error (plus the parser's ``error_extra``
  members) and closes with its code; only that stream ends. A parser bug on odd input is
  logged (with its traceback, to be fixed) and closes 1011 ``internal_error``;
- while the socket is open it is registered for the shutdown drain (``lifecycle``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import WebSocket, WebSocketDisconnect

from app.auth import AuthError, Principal, Role, authenticate, token_from
from app.ingest.base import CallMeta, IngestError
from app.ingest.context import adapter_settings, agent_map, call_registry, free_call_id
from app.ingest.lifecycle import Deadline, IngestStream, IngestTimeout, registered
from app.ingest.settings import AdapterSettings, AgentMap
from app.wsclose import close_with_error
from asr import codecs
from asr.errors import AsrError
from asr.types import AudioFrame

log = logging.getLogger(__name__)

INGEST_ROLES: tuple[Role, ...] = ("ingest", "admin")
# A token whose subject is ``call:<id>`` may stream that one call only (practice mode mints
# such a short-lived ingest token for the trainee's browser).
CALL_SCOPE = "call:"


@dataclass(frozen=True, slots=True)
class Started:
    """A parsed start: the call, and how to open it."""

    meta: CallMeta
    reply: Mapping[str, Any] | None = None  # sent once the call is open (``call_id`` filled)
    token: str | None = None  # a token carried in the start message itself
    # When the wanted call id is live, use "<id>:<suffix>" instead of refusing (a second
    # stream of one conversation); ``None`` refuses the duplicate.
    duplicate_suffix: str | None = None


@dataclass(frozen=True, slots=True)
class Stop:
    """The platform ended the stream: end the call, send ``reply``, close 1000."""

    reason: str = "stop"
    reply: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class IngestContext:
    """What a parser may read: the adapter and service settings and the agent map."""

    adapters: AdapterSettings
    agents: AgentMap
    max_frame_bytes: int


class StreamParser(Protocol):
    """One connection's protocol, without IO. Raise ``IngestError`` on bad input."""

    source: str
    farewell: Mapping[str, Any] | None  # what a shutdown drain sends, if anything
    disconnect_reason: str  # the call's end reason when the socket just drops
    token_in_start: bool  # the token may come in the start message instead of the URL

    def start(self, message: Mapping[str, Any], ctx: IngestContext) -> Started | None:
        """A message before the start; ``None`` to keep waiting (e.g. Twilio's connected)."""
        ...

    def audio(self, message: Mapping[str, Any], ctx: IngestContext) -> list[AudioFrame] | Stop:
        """A message after the start: frames to push (possibly none), or the end."""
        ...

    def error_extra(self, code: str, message: str) -> Mapping[str, Any]:
        """Members the platform's own client expects on an error message."""
        ...


def split_frame(data: bytes, encoding: str, channels: int, code: str = "bad_audio",
                ) -> tuple[bytes, ...]:
    """Interleaved audio into per-channel bytes (``asr.codecs``); ``IngestError`` (1007)
    when it is not whole sample frames."""
    try:
        return codecs.split_channels(data, encoding, channels)
    except AsrError as exc:
        width = codecs.BYTES_PER_SAMPLE.get(encoding, 1) * channels
        raise IngestError(code, f"{len(data)} bytes is not a whole number of {width}-byte "
                                "frames") from exc


def _context(ws: WebSocket) -> IngestContext:
    service = getattr(ws.app.state, "settings", None)
    return IngestContext(
        adapters=adapter_settings(ws.app),
        agents=agent_map(ws.app),
        max_frame_bytes=service.max_frame_bytes if service is not None else 1 << 16,
    )


async def _receive(ws: WebSocket, deadline: Deadline) -> dict[str, Any]:
    message = await deadline.wait(ws.receive())
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    return dict(message)


async def serve_stream(ws: WebSocket, parser: StreamParser,
                       roles: tuple[Role, ...] = INGEST_ROLES) -> None:
    """Run one websocket ingest connection with ``parser`` (see the module docstring)."""
    token = token_from(ws.headers.get("authorization"), ws.query_params.get("token"))
    authed: Principal | None = None
    if token is not None or not parser.token_in_start:
        try:
            authed = authenticate(ws.app.state.signer, token, roles)
        except AuthError as exc:
            await close_with_error(ws, exc.code, exc.message, 1008,
                                   parser.error_extra(exc.code, exc.message))
            return
    await ws.accept()
    stream = IngestStream(ws, parser.source, farewell=dict(parser.farewell or {}) or None)
    async with registered(stream):
        reason = await _run(ws, parser, stream, roles, authed)
        await stream.end(reason)


async def _run(ws: WebSocket, parser: StreamParser, stream: IngestStream,
               roles: tuple[Role, ...], authed: Principal | None) -> str:
    """The ladder after ``accept``; returns the reason the call ends with."""
    ctx = _context(ws)
    deadline = Deadline.for_app(ws.app)
    try:
        call_id = await _start(ws, parser, stream, ctx, roles, authed, deadline)
        return await _frames(ws, parser, stream, ctx, call_id, deadline)
    except WebSocketDisconnect:
        return parser.disconnect_reason
    except IngestError as exc:
        if stream.draining:
            return "shutdown"
        log.info("ingest stream refused", extra={"source": parser.source, "code": exc.code,
                                                 "close_code": exc.close_code,
                                                 "call_id": stream.call_id})
        await close_with_error(ws, exc.code, exc.message, exc.close_code,
                               parser.error_extra(exc.code, exc.message))
        return "timeout" if isinstance(exc, IngestTimeout) else "error"
    except Exception:
        # A parser that fails on input it should have refused: its bug, this stream's end.
        log.exception("ingest stream failed", extra={"source": parser.source,
                                                     "call_id": stream.call_id})
        failed = ("internal_error", "the server could not handle this message")
        await close_with_error(ws, *failed, 1011, parser.error_extra(*failed))
        return "error"


async def _start(ws: WebSocket, parser: StreamParser, stream: IngestStream, ctx: IngestContext,
                 roles: tuple[Role, ...], authed: Principal | None, deadline: Deadline) -> str:
    """Wait for the start, authenticate if the token came in it, open the call; its id."""
    started = None
    while started is None:
        started = parser.start(await _receive(ws, deadline), ctx)
    principal = authed
    if principal is None:
        try:
            principal = authenticate(ws.app.state.signer, started.token, roles)
        except AuthError as exc:
            raise IngestError(exc.code, exc.message, 1008) from exc
    meta = started.meta
    scope = (principal.subject or "").removeprefix(CALL_SCOPE)
    if principal.subject and principal.subject.startswith(CALL_SCOPE) and (
        meta.call_id != scope or started.duplicate_suffix is not None
    ):
        # a token minted for one call (practice mode's browser stream) streams only that call
        raise IngestError("forbidden", "this token may only stream its own call", 1008)
    registry = call_registry(ws.app)
    if started.duplicate_suffix is not None:
        meta = dataclasses.replace(meta, call_id=free_call_id(
            registry, meta.call_id, started.duplicate_suffix))
    handle = await stream.open(registry, meta)
    deadline.started()
    if started.reply is not None:
        await ws.send_json(_with_call_id(started.reply, handle.call_id))
    return handle.call_id


async def _frames(ws: WebSocket, parser: StreamParser, stream: IngestStream,
                  ctx: IngestContext, call_id: str, deadline: Deadline) -> str:
    """Push audio until the parser says stop; then end the call, reply and close 1000."""
    while True:
        out = parser.audio(await _receive(ws, deadline), ctx)
        if isinstance(out, Stop):
            await stream.end(out.reason)  # flush the last words before saying goodbye
            # The platform may hang up as soon as it sent its stop: nothing left to say then.
            with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                if out.reply is not None:
                    await ws.send_json(_with_call_id(out.reply, call_id))
                await ws.close(1000)
            return out.reason
        if any(frame.data for frame in out):
            deadline.progress()
        for frame in out:
            await stream.push(frame)


def _with_call_id(message: Mapping[str, Any], call_id: str) -> dict[str, Any]:
    """``message`` with every ``call_id`` member (also one level down) set to ``call_id``."""
    out: dict[str, Any] = {}
    for key, value in message.items():
        if key == "call_id":
            out[key] = call_id
        elif isinstance(value, Mapping):
            out[key] = _with_call_id(value, call_id)
        else:
            out[key] = value
    return out
