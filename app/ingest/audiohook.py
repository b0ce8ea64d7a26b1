"""Genesys Cloud AudioHook v2 at ``WS /v1/ingest/audiohook``.

Authentication is AudioHook's own: the ``X-API-KEY`` header names a key configured in
``CARECUE_AUDIOHOOK_API_KEYS`` (Genesys' key format; a CareCue ``ingest`` token is also taken,
for non-Genesys clients such as the simulator), and when the key has a client
secret the upgrade request must carry a valid RFC 9421 HMAC-SHA256 signature covering
``@request-target``, ``@authority``, the three ``Audiohook-*`` headers and ``x-api-key``.
Failures answer ``disconnect`` with ``reason: "unauthorized"``; protocol errors answer
``disconnect`` with ``reason: "error"``; both then wait for the client's ``close`` and answer
``closed``, as the protocol asks.

Call id: the conversation id. A client that closes with ``reason: "reconnect"`` (or whose
socket drops) keeps its call open for ``audiohook_reconnect_grace_s`` so the new session
(``open`` with ``continuedSessions`` naming it) continues the same call and timeline. Each
session is parked on its own (one conversation may have several, e.g. one per participant):
every parked call is either continued or ended when its grace runs out.

Deadlines (``lifecycle.Deadline``): the ``open`` must come within the handshake deadline, and
an open session must send audio (or, while paused, any message such as ``ping``) within the
idle deadline; otherwise the server sends ``disconnect`` (reason ``error``), waits briefly
for the client's ``close`` and closes 1008, ending the call as ``timeout``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.ingest.audiohook_protocol import (
    CHANNEL_TRACK,
    AudioHookSession,
    ClientMessage,
    OpenRequest,
    ProtocolViolation,
    State,
    format_duration,
    is_uuid,
    select_media,
)
from app.ingest.base import CallHandle, CallMeta, IngestError
from app.ingest.context import adapter_settings, agent_map, call_registry, free_call_id
from app.ingest.httpsig import RequestView, SignatureError, verify_request
from app.ingest.lifecycle import Deadline, IngestTimeout
from app.ingest.settings import AdapterSettings
from asr.types import AudioFrame

log = logging.getLogger(__name__)

@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    # Validate the adapter settings and the agent map at start, not on the first call.
    adapter_settings(app)
    agent_map(app)
    yield
    # Runs before the call manager shuts down (router lifespans nest inside the app's).
    await drain_audiohook(app)
    _parked_calls(app).cancel_all()


router = APIRouter(lifespan=_lifespan)

PATH = "/v1/ingest/audiohook"
SIGNED_COMPONENTS = (
    "@request-target",
    "@authority",
    "audiohook-organization-id",
    "audiohook-session-id",
    "audiohook-correlation-id",
    "x-api-key",
)
# After we send disconnect the client should close promptly; don't hold the socket forever.
CLOSE_WAIT_S = 10.0


@dataclass
class _Parked:
    conversation_id: str
    session_id: str
    handle: CallHandle
    timeline_s: float
    timer: asyncio.Task[None] | None = None


class ParkedCalls:
    """Calls whose AudioHook session went away expecting a reconnect.

    One entry per parked session, never keyed by conversation alone: two sessions of one
    conversation may drop together, and each call must be continued or ended on its own.
    A new session claims the entry of a session its ``continuedSessions`` names, within the
    same conversation; an entry nobody claims is ended when its grace runs out.
    """

    def __init__(self) -> None:
        self._calls: dict[int, _Parked] = {}
        self._next = 0

    def __len__(self) -> int:
        return len(self._calls)

    def park(self, conversation_id: str, session_id: str, handle: CallHandle,
             timeline_s: float, grace_s: float) -> None:
        key, self._next = self._next, self._next + 1
        parked = _Parked(conversation_id, session_id, handle, timeline_s)

        async def expire() -> None:
            await asyncio.sleep(grace_s)
            if self._calls.pop(key, None) is parked:
                log.info("audiohook reconnect grace expired", extra={"call_id": handle.call_id})
                await handle.end("reconnect_timeout")

        self._calls[key] = parked
        parked.timer = asyncio.create_task(expire(), name=f"audiohook-parked-{key}")

    def cancel_all(self) -> None:
        """Forget parked calls (at shutdown the call manager ends them itself)."""
        for parked in self._calls.values():
            if parked.timer is not None:
                parked.timer.cancel()
        self._calls.clear()

    def claim(self, conversation_id: str, session_ids: tuple[str, ...]) -> _Parked | None:
        """The parked call of one of ``session_ids`` in this conversation, if any."""
        for key, parked in self._calls.items():
            if parked.conversation_id == conversation_id and parked.session_id in session_ids:
                del self._calls[key]
                if parked.timer is not None:
                    parked.timer.cancel()
                return parked
        return None


def _live_connections(app: Any) -> set[_Connection]:
    live = getattr(app.state, "audiohook_live", None)
    if live is None:
        live = set()
        app.state.audiohook_live = live
    return live


async def request_reconnects(app: Any, info: str) -> tuple[int, list[asyncio.Event]]:
    """Ask every open AudioHook session to ``reconnect`` (Genesys then opens a new session,
    on another instance behind the load balancer). Returns how many were asked and the
    ``finished`` events of every live connection, to wait on."""
    live = list(_live_connections(app))
    asked = 0
    for conn in live:
        if await conn.request_reconnect(info):
            asked += 1
    return asked, [conn.finished for conn in live]


async def drain_audiohook(app: Any, info: str = "server is shutting down",
                          wait_s: float = 5.0) -> int:
    """``request_reconnects``, then wait up to ``wait_s`` for the sessions to close.
    Returns how many sessions were asked."""
    asked, finished = await request_reconnects(app, info)
    if finished:
        waits = [asyncio.ensure_future(event.wait()) for event in finished]
        await asyncio.wait(waits, timeout=wait_s)
        for task in waits:
            task.cancel()
    return asked


def _parked_calls(app: Any) -> ParkedCalls:
    parked = getattr(app.state, "audiohook_parked", None)
    if parked is None:
        parked = ParkedCalls()
        app.state.audiohook_parked = parked
    return parked


def request_view(ws: WebSocket) -> RequestView:
    """The upgrade request as the signature covers it (path and query as sent)."""
    scope = ws.scope
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope.get("path", "/")
    path = path.split("?", 1)[0]
    query = scope.get("query_string", b"").decode("latin-1")
    headers = {k.lower(): v for k, v in ws.headers.items()}
    return RequestView(
        method="GET",
        scheme=ws.url.scheme,
        authority=headers.get("host", ws.url.netloc),
        path=path,
        query=query,
        headers=headers,
    )


def authorize(ws: WebSocket, settings: AdapterSettings) -> str | None:
    """``None`` when the upgrade request is allowed, else why not (for ``disconnect.info``)."""
    api_key = ws.headers.get("x-api-key")
    if not api_key:
        return 'missing "X-API-KEY" header field'
    secret_b64 = settings.audiohook_api_keys.get(api_key)
    if secret_b64 is None:
        if not _is_ingest_token(ws, api_key):
            return "unknown API key"
        secret = b""
    else:
        secret = base64.b64decode(secret_b64)
    signed = "signature" in ws.headers or "signature-input" in ws.headers
    if not secret and not signed:
        return None
    try:
        verify_request(
            request_view(ws),
            key_for=lambda keyid: secret if keyid == api_key else None,
            required=SIGNED_COMPONENTS,
            max_age_s=settings.audiohook_max_signature_age_s,
        )
    except SignatureError as exc:
        return f"{exc.code}: {exc.reason}"
    return None


def _is_ingest_token(ws: WebSocket, value: str) -> bool:
    signer = getattr(ws.app.state, "signer", None)
    if signer is None:
        return False
    from app.auth import AuthError, authenticate

    try:
        authenticate(signer, value, ("ingest", "admin"))
    except AuthError:
        return False
    return True


class _Connection:
    """One AudioHook websocket: drives the protocol state machine and the call."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.settings = adapter_settings(ws.app)
        self.proto = AudioHookSession(
            session_id=ws.headers.get("audiohook-session-id", "")
            if is_uuid(ws.headers.get("audiohook-session-id"))
            else "00000000-0000-0000-0000-000000000000"
        )
        self.handle: CallHandle | None = None
        self.timeline_base_s = 0.0
        self.close_code = 1000
        self.end_reason = "error"  # the call's end reason when the server disconnects
        self.deadline = Deadline.for_app(ws.app)
        # After our disconnect the client should close promptly; as long as it had to open.
        self.close_wait_s = min(CLOSE_WAIT_S, self.settings.ingest_handshake_timeout_s)
        self.finished = asyncio.Event()

    async def request_reconnect(self, info: str) -> bool:
        """Send ``reconnect`` if the session is open; the client answers with ``close``."""
        message = self.proto.request_reconnect(info)
        if message is None:
            return False
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self.send(message)
            return True
        return False

    async def send(self, message: dict[str, Any] | None) -> None:
        if message is not None:
            await self.ws.send_text(json.dumps(message))

    async def run(self) -> None:
        live = _live_connections(self.ws.app)
        live.add(self)
        try:
            await self._run()
        finally:
            live.discard(self)
            self.finished.set()

    async def _run(self) -> None:
        await self.ws.accept()
        failure = authorize(self.ws, self.settings)
        if failure is not None:
            log.warning("audiohook unauthorized", extra={"session_id": self.proto.session_id})
            self.close_code = 1008
            await self.send(self.proto.disconnect("unauthorized", failure))
        try:
            await self._loop()
        finally:
            await self._finish()

    async def _loop(self) -> None:
        while True:
            disconnecting = self.proto.state is State.DISCONNECTING
            try:
                if disconnecting:
                    message = await asyncio.wait_for(self.ws.receive(), self.close_wait_s)
                else:
                    message = await self.deadline.wait(self.ws.receive())
            except TimeoutError:
                return
            except IngestTimeout as exc:
                log.info("audiohook %s", exc.code, extra={"session_id": self.proto.session_id})
                self.close_code, self.end_reason = exc.close_code, "timeout"
                await self.send(self.proto.disconnect("error", exc.message))
                if self.proto.state is not State.DISCONNECTING:
                    return
                continue
            if message["type"] == "websocket.disconnect":
                return
            if self.proto.state is State.PAUSED:
                self.deadline.progress()  # on hold the client only pings: it is still there
            try:
                if message.get("bytes") is not None:
                    await self._on_audio(message["bytes"])
                elif message.get("text") is not None:
                    done = await self._on_text(message["text"])
                    if done:
                        return
            except ProtocolViolation as exc:
                log.warning("audiohook protocol error", extra={"session_id": self.proto.session_id,
                                                               "info": exc.info})
                self.close_code = 1007
                await self.send(self.proto.disconnect("error", exc.info))
            except IngestError as exc:
                self.close_code = exc.close_code
                await self.send(self.proto.disconnect("error", exc.message))
            except Exception:
                # Input the protocol code should have refused: its bug, this session's end.
                log.exception("audiohook session failed",
                              extra={"session_id": self.proto.session_id})
                self.close_code = 1011
                await self.send(self.proto.disconnect("error", "the server could not handle "
                                                               "this message"))

    async def _on_text(self, text: str) -> bool:
        disconnecting = self.proto.state is State.DISCONNECTING
        msg = self.proto.receive_text(text)
        if disconnecting:
            if msg.type != "close":
                return False
            await self._on_close(msg)
            await self.send(self.proto.build("closed"))
            return True
        if msg.type == "open":
            assert msg.open is not None
            await self._on_open(msg.open)
        elif msg.type == "ping":
            await self.send(self.proto.build("pong"))
        elif msg.type == "update":
            await self.send(self.proto.build("updated"))
        elif msg.type == "close":
            await self._on_close(msg)
            await self.send(self.proto.build("closed"))
            return True
        elif msg.type == "error":
            log.warning("audiohook client error", extra={"session_id": self.proto.session_id,
                                                         "code": msg.parameters.get("code")})
        elif msg.type in ("discarded", "paused", "resumed"):
            log.info("audiohook %s", msg.type, extra={"session_id": self.proto.session_id,
                                                      "position": format_duration(msg.position_s)})
        return False

    async def _on_open(self, request: OpenRequest) -> None:
        org_header = self.ws.headers.get("audiohook-organization-id")
        if org_header is not None and org_header != request.organization_id:
            self.close_code = 1008
            await self.send(self.proto.disconnect(
                "unauthorized",
                'mismatch between "organizationId" open parameter and '
                '"audiohook-organization-id" header field',
            ))
            return
        media = select_media(request.offered)
        if media is None:
            raise ProtocolViolation(
                "no supported media offered (need PCMU or L16 at 8000 Hz with channels "
                "external/internal)"
            )
        if request.is_probe:
            # Genesys checks a new integration with a null conversation: answer, open no call.
            await self.send(self.proto.opened(media))
            return
        registry = call_registry(self.ws.app)
        parked = (
            _parked_calls(self.ws.app).claim(
                request.conversation_id, tuple(cs.id for cs in request.continued_sessions))
            if request.continued_sessions
            else None
        )
        if parked is not None:
            self.handle = parked.handle
            self.timeline_base_s = parked.timeline_s
        else:
            custom = request.custom_config
            explicit = custom.get("agent_id") or custom.get("agentId")
            if isinstance(explicit, bool) or (explicit and not isinstance(explicit, (str, int))):
                # str() would make ["A1"] the agent "['A1']"
                raise ProtocolViolation("open: customConfig.agent_id must be a string")
            agent = agent_map(self.ws.app).resolve(
                "audiohook",
                str(explicit) if explicit else None,
                {
                    "dnis": request.participant.get("dnis"),
                    "ani": request.participant.get("ani"),
                    "organization_id": request.organization_id,
                    "participant_id": request.participant.get("id"),
                },
            )
            if agent is None:
                raise ProtocolViolation(
                    "no agent for this call: set customConfig.agent_id or map the DNIS in the "
                    "CareCue agent map"
                )
            call_id = free_call_id(registry, request.conversation_id, self.proto.session_id[:8])
            meta = CallMeta(
                call_id=call_id,
                agent_id=agent,
                source="audiohook",
                tracks=tuple(CHANNEL_TRACK[channel] for channel in media.channels),
                custom={
                    "organization_id": request.organization_id,
                    "session_id": self.proto.session_id,
                    "language": request.language or "",
                    "dnis": request.participant.get("dnis", ""),
                },
            )
            self.handle = await registry.open_call(meta)
        log.info("audiohook opened", extra={"session_id": self.proto.session_id,
                                            "call_id": self.handle.call_id,
                                            "format": media.format,
                                            "channels": len(media.channels)})
        await self.send(self.proto.opened(media))
        self.deadline.started()

    async def _on_audio(self, data: bytes) -> None:
        chunks = self.proto.receive_audio(data)
        if data:
            self.deadline.progress()
        if self.handle is None:
            return  # a probe session: audio is acknowledged by position only
        for chunk in chunks:
            await self.handle.push(
                AudioFrame(
                    track=chunk.track,
                    data=chunk.data,
                    sample_rate=8000,
                    encoding=chunk.encoding,
                    timestamp_s=self.timeline_base_s + chunk.start_s,
                )
            )

    async def _on_close(self, msg: ClientMessage) -> None:
        if self.handle is None:
            return
        handle, self.handle = self.handle, None
        reason = self.proto.close_reason or "end"  # validated by the protocol state machine
        if reason == "reconnect" and self.proto.open_request:
            self._park(handle)
        else:
            await handle.end(reason)

    def _park(self, handle: CallHandle) -> None:
        assert self.proto.open_request is not None
        _parked_calls(self.ws.app).park(
            self.proto.open_request.conversation_id,
            self.proto.session_id,
            handle,
            self.timeline_base_s + self.proto.position_s + self.proto.gaps_s,
            self.settings.audiohook_reconnect_grace_s,
        )

    async def _finish(self) -> None:
        if self.handle is not None:
            handle, self.handle = self.handle, None
            if self.proto.state is State.DISCONNECTING:
                await handle.end(self.end_reason)
            else:
                # The socket dropped without a close: Genesys reconnects with continuedSessions.
                self._park(handle)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self.ws.close(self.close_code)


@router.websocket(PATH)
async def audiohook_ingest(websocket: WebSocket) -> None:
    """Genesys AudioHook v2 (see the module docstring)."""
    await _Connection(websocket).run()
