"""The live ingest connections of one app, and draining them when the service stops.

Every websocket adapter (Twilio, native, fork) keeps its call in an ``IngestStream`` while the
socket is open. At shutdown ``drain_ingest`` runs *before* the server closes the sockets
(uvicorn would otherwise close them with 1012 first and the calls would end as dropped):

1. every AudioHook session is asked to ``reconnect`` (Genesys opens a new session, which a load
   balancer sends to another instance, and the conversation carries on there);
2. every other stream is stopped the way its protocol allows: the call is ended normally
   (its last utterances flushed), the platform's farewell message is sent where it has one,
   and the socket is closed with 1001 (going away);
3. then it waits, up to ``CARECUE_INGEST_DRAIN_S``, for the connections to finish.

Every adapter (the websocket ones and AudioSocket's TCP legs) also keeps a ``Deadline``: the
handshake and idle limits that stop a connection from holding a call slot without sending
audio (``CARECUE_INGEST_HANDSHAKE_TIMEOUT_S``, ``CARECUE_INGEST_IDLE_TIMEOUT_S``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import WebSocket, WebSocketDisconnect

from app.ingest.base import CallHandle, CallMeta, CallRegistry, IngestError
from app.ingest.context import adapter_settings
from asr.types import AudioFrame

T = TypeVar("T")

log = logging.getLogger(__name__)

SHUTDOWN_REASON = "shutdown"
GOING_AWAY = 1001


class IngestTimeout(IngestError):
    """A connection missed its handshake or idle deadline (close 1008)."""


class Deadline:
    """The handshake and idle deadlines of one ingest connection, the same for every protocol.

    Until ``started`` the connection has ``handshake_s`` in all to start its call, however many
    messages it sends meanwhile (Twilio's ``connected``, pings, a frame fed byte by byte):
    only the start counts. After it, each piece of audio (``progress``) gives it another
    ``idle_s``; keep-alives, marks and other text do not. ``wait`` bounds one read by what
    is left and raises ``IngestTimeout`` when nothing is.
    """

    def __init__(self, handshake_s: float, idle_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.handshake_s = handshake_s
        self.idle_s = idle_s
        self._clock = clock
        self._at = clock() + handshake_s
        self.is_started = False

    @classmethod
    def for_app(cls, app: Any) -> Deadline:
        """A new connection's deadline from ``app``'s adapter settings."""
        settings = adapter_settings(app)
        return cls(settings.ingest_handshake_timeout_s, settings.ingest_idle_timeout_s)

    def started(self) -> None:
        """The call is open: from now on the idle deadline applies."""
        self.is_started = True
        self._at = self._clock() + self.idle_s

    def progress(self) -> None:
        """Audio arrived: the idle deadline starts again (no effect before the start)."""
        if self.is_started:
            self._at = self._clock() + self.idle_s

    def remaining(self) -> float:
        return max(0.0, self._at - self._clock())

    def expired(self) -> IngestTimeout:
        """The error for the deadline that passed."""
        if self.is_started:
            return IngestTimeout("idle_timeout",
                                 f"no audio within {self.idle_s:g} s", 1008)
        return IngestTimeout("handshake_timeout",
                             f"no start within {self.handshake_s:g} s of connecting", 1008)

    async def wait(self, awaitable: Awaitable[T]) -> T:
        """``await awaitable`` within what is left; ``IngestTimeout`` when it runs out."""
        try:
            return await asyncio.wait_for(awaitable, self.remaining())
        except TimeoutError as exc:
            raise self.expired() from exc


class IngestStream:
    """One ingest websocket's call, shared by the route that reads it and the shutdown drain.

    The route opens the call, pushes frames and ends it; the drain may end it first from
    another task, after which ``push`` drops frames still in flight and ``end`` does nothing.
    """

    def __init__(self, ws: WebSocket, source: str,
                 farewell: dict[str, Any] | None = None) -> None:
        self.ws = ws
        self.source = source
        self.farewell = farewell
        self.handle: CallHandle | None = None
        self.call_id: str | None = None
        self.draining = False
        self.finished = asyncio.Event()

    async def open(self, registry: CallRegistry, meta: CallMeta) -> CallHandle:
        self.handle = await registry.open_call(meta)
        self.call_id = self.handle.call_id
        return self.handle

    async def push(self, frame: AudioFrame) -> None:
        if self.handle is not None:
            await self.handle.push(frame)

    async def end(self, reason: str) -> None:
        """End the call once, whoever gets here first (the route or the drain)."""
        handle, self.handle = self.handle, None
        if handle is not None:
            await handle.end(reason)

    async def drain(self) -> None:
        """Stop this stream for a shutdown: end the call, say goodbye, close 1001."""
        self.draining = True
        await self.end(SHUTDOWN_REASON)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            if self.farewell is not None and self.call_id is not None:
                message = dict(self.farewell)
                if "call_id" in message:
                    message["call_id"] = self.call_id
                await self.ws.send_json(message)
            await self.ws.close(GOING_AWAY, "server shutting down")


def _streams(app: Any) -> set[IngestStream]:
    live = getattr(app.state, "ingest_streams", None)
    if live is None:
        live = set()
        app.state.ingest_streams = live
    return live


@asynccontextmanager
async def registered(stream: IngestStream) -> AsyncIterator[IngestStream]:
    """Keep ``stream`` in its app's live set while the route runs."""
    live = _streams(stream.ws.app)
    live.add(stream)
    try:
        yield stream
    finally:
        live.discard(stream)
        stream.finished.set()


async def drain_ingest(app: Any, wait_s: float | None = None) -> dict[str, int]:
    """Drain every live ingest connection (see the module docstring); returns counts."""
    from app.ingest.audiohook import request_reconnects

    if wait_s is None:
        wait_s = adapter_settings(app).ingest_drain_s
    reconnects, finished = await request_reconnects(app, "server is shutting down")
    streams = list(_streams(app))
    if streams:
        await asyncio.gather(*(s.drain() for s in streams), return_exceptions=True)
    waits = [asyncio.ensure_future(event.wait())
             for event in (*finished, *(s.finished for s in streams))]
    if waits:
        await asyncio.wait(waits, timeout=wait_s)
        for task in waits:
            task.cancel()
    log.info("ingest drained", extra={"audiohook_reconnects": reconnects,
                                      "streams_stopped": len(streams)})
    return {"audiohook": reconnects, "streams": len(streams)}
