"""Read the agent or supervisor event stream as a client: for the demo, tests and the bench."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from carecue_sim.client import ingest_url


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    """An envelope as it arrived, with ``time.monotonic()`` at arrival."""

    at_monotonic: float
    envelope: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.envelope.get("type", ""))

    @property
    def call_id(self) -> str | None:
        return self.envelope.get("call_id")

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.envelope.get("data") or {})


def agent_events_url(base: str, token: str, agent_id: str, since: int | None = None) -> str:
    params = {} if since is None else {"since": str(since)}
    return ingest_url(base, f"/v1/agents/{quote(agent_id, safe='')}/events", token, **params)


def supervisor_events_url(base: str, token: str, since: int | None = None) -> str:
    params = {} if since is None else {"since": str(since)}
    return ingest_url(base, "/v1/supervisor/events", token, **params)


async def iter_events(ws: ClientConnection) -> AsyncIterator[ReceivedEvent]:
    """Envelopes from an open event socket until it closes."""
    with contextlib.suppress(ConnectionClosed):
        async for message in ws:
            yield ReceivedEvent(time.monotonic(), json.loads(message))


@dataclass
class EventRecorder:
    """Keeps every envelope from one event socket; lets callers wait for a condition.

    Use as ``async with EventRecorder(url) as rec:``; the socket is read in a background task.
    """

    url: str
    on_event: Callable[[ReceivedEvent], None] | None = None
    events: list[ReceivedEvent] = field(default_factory=list)
    _ws: ClientConnection | None = None
    _task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> EventRecorder:
        self._ws = await connect(self.url, open_timeout=15, max_size=2**22)
        self._task = asyncio.create_task(self._read(self._ws))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, 5)

    @property
    def close_code(self) -> int | None:
        return None if self._ws is None else self._ws.close_code

    @property
    def closed(self) -> bool:
        return self._task is not None and self._task.done()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for event in iter_events(ws):
                self.events.append(event)
                if self.on_event is not None:
                    self.on_event(event)
                self._changed.set()
        finally:
            self._changed.set()

    async def send(self, message: dict[str, Any]) -> None:
        assert self._ws is not None
        await self._ws.send(json.dumps(message))

    def of_type(self, type_: str, call_id: str | None = None) -> list[ReceivedEvent]:
        return [
            e for e in self.events
            if e.type == type_ and (call_id is None or e.call_id == call_id)
        ]

    async def wait_for(
        self, predicate: Callable[[ReceivedEvent], bool], within_s: float
    ) -> ReceivedEvent | None:
        """The first recorded event matching ``predicate``, waiting up to ``within_s``."""
        deadline = time.monotonic() + within_s
        while True:
            # Clear before scanning so an event arriving mid-scan still wakes us.
            self._changed.clear()
            for event in self.events:
                if predicate(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
