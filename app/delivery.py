"""Agent and supervisor websockets: replay, live fan-out and the per-client queue.

Drop policy of ``ClientQueue`` (one per connected socket, ``client_queue_size`` long). The bus
hands every message to ``offer`` without waiting, so a slow screen never slows ingest or other
screens. When the queue is full:

1. a new ``transcript.partial`` evicts the oldest queued partial (or is itself dropped);
2. a new ``signals.updated`` replaces a queued ``signals.updated`` of the same call (coalesce);
3. finals, nudges, escalations and call events are never dropped: if nothing can be evicted for
   them the client has fallen too far behind and is closed with 1013 and an ``error`` message
   ``{"code": "too_slow", "message": "... since=N"}``; it reconnects with ``since=N`` and loses
   nothing.

A client that stops reading altogether never lets its queue drain: the socket's own buffers fill
and a send waits. The sender (``app.routes.events``) gives one send ``client_send_timeout_s``
(shorter than the websocket keepalive) and gives up at once when the queue overflows meanwhile;
either way the client is too slow, as in 3.

``seq`` is strictly increasing on each socket: replay and live messages are merged by seq.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.bus import BusMessage, EventBus
from app.metrics import Metrics
from app.store import Store, StoredEvent

log = logging.getLogger("carecue.delivery")

CLOSE_TOO_SLOW = 1013

Filter = Callable[[BusMessage], bool]


class ClientQueue:
    """Bounded, policy-aware queue of envelopes for one socket."""

    def __init__(self, capacity: int, metrics: Metrics | None = None) -> None:
        self.capacity = capacity
        self._items: deque[dict[str, Any]] = deque()
        self._ready = asyncio.Event()
        self._metrics = metrics
        self.last_seq = 0  # newest seq accepted into the queue
        self.last_sent = 0  # newest seq handed to the socket
        self.overflowed = False
        # Called once when the queue overflows: the sender interrupts a send that waits.
        self.on_overflow: Callable[[], None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, env: dict[str, Any]) -> None:
        """Add an envelope (never blocks); applies the drop policy when full."""
        if self.overflowed or env["seq"] <= self.last_seq:
            return
        if len(self._items) >= self.capacity and not self._make_room(env):
            return
        self._items.append(env)
        self.last_seq = env["seq"]
        self._ready.set()

    def _dropped(self, kind: str) -> None:
        if self._metrics is not None:
            self._metrics.client_drops.labels(kind).inc()

    def _make_room(self, env: dict[str, Any]) -> bool:
        kind = env["type"]
        if kind == "signals.updated":
            for i, old in enumerate(self._items):
                if old["type"] == "signals.updated" and old["call_id"] == env["call_id"]:
                    del self._items[i]
                    self._dropped(kind)
                    return True
        for i, old in enumerate(self._items):
            if old["type"] == "transcript.partial":
                del self._items[i]
                self._dropped("transcript.partial")
                return True
        if kind == "transcript.partial":
            self._dropped(kind)
            self.last_seq = env["seq"]
            return False
        # Only must-deliver messages are queued and there is no room: close, let it resume.
        self.overflowed = True
        self._ready.set()
        if self.on_overflow is not None:
            self.on_overflow()
        return False

    async def get(self) -> dict[str, Any] | None:
        """Next envelope to send, or ``None`` when the client overflowed."""
        while not self._items:
            if self.overflowed:
                return None
            self._ready.clear()
            await self._ready.wait()
        if self.overflowed:
            return None
        env = self._items.popleft()
        self.last_sent = env["seq"]
        return env


def _stored_to_message(ev: StoredEvent) -> BusMessage:
    return BusMessage(ev.seq, ev.agent_id, ev.to_agent, ev.envelope())


@dataclass
class Stream:
    """A subscribed client: the replay to send first, then the live queue."""

    replay: list[dict[str, Any]]
    queue: ClientQueue
    unsubscribe: Callable[[], None]
    truncated: bool = False  # more to replay than ``replay_limit``: resume after this part


_PAGE = 5000
_WRITER_LAG_EVENTS = 2000


async def _stored_range(
    store: Store, since: int, upto: int, agent_id: str | None, limit: int
) -> tuple[list[BusMessage], bool]:
    """Events in ``(since, upto]`` from the event log, paged; ``True`` when cut at ``limit``."""
    out: list[BusMessage] = []
    cursor = since
    while cursor < upto and len(out) < limit:
        page = await asyncio.to_thread(
            store.repo.events_since,
            cursor,
            upto=upto,
            limit=min(_PAGE, limit - len(out)),
            agent_id=agent_id,
        )
        if not page:
            break
        out.extend(_stored_to_message(e) for e in page)
        cursor = page[-1].seq
    return out, len(out) >= limit and cursor < upto


async def open_stream(
    *,
    bus: EventBus,
    store: Store,
    accept: Filter,
    since: int | None,
    capacity: int,
    replay_limit: int,
    active_calls: Callable[[], list[str]] | None,
    metrics: Metrics | None = None,
    agent_id: str | None = None,
) -> Stream:
    """Subscribe a client: what it missed (replay), then live. Call ``unsubscribe`` when done.

    Live messages that arrive while the replay is read are held and merged after it by seq.
    With ``since`` omitted the client gets the calls in progress (from their start) then live.
    The replay is not bounded by the live queue's capacity (it is what the client asked for);
    it is bounded by ``replay_limit``, after which the client resumes with a new ``since``.
    """
    queue = ClientQueue(capacity, metrics)
    held: list[BusMessage] = []
    replaying = True

    def on_message(msg: BusMessage) -> None:
        if not accept(msg):
            return
        if replaying:
            held.append(msg)
        else:
            queue.offer(msg.envelope)

    unsubscribe = bus.subscribe(on_message)
    replay: list[BusMessage] = []
    truncated = False
    try:
        head = await bus.head()
        if since is not None and since < head:
            retained, floor = await bus.recent(since, head)
            if floor > since:
                stored, truncated = await _stored_range(store, since, floor, agent_id, replay_limit)
                replay.extend(stored)
            if not truncated:
                replay.extend(retained)
        elif since is None and active_calls is not None:
            ids = set(active_calls())
            if ids:
                joined = await asyncio.to_thread(
                    store.repo.events_for_calls, sorted(ids), upto=head, limit=replay_limit
                )
                # The store writer may lag the bus a little (and, with Redis, other
                # instances' writers): take the recent tail from the bus and merge by seq.
                tail_from = max(0, (joined[-1].seq if joined else 0) - _WRITER_LAG_EVENTS)
                retained, _floor = await bus.recent(tail_from, head)
                merged = {e.seq: _stored_to_message(e) for e in joined}
                merged.update((m.seq, m) for m in retained if m.call_id in ids)
                replay.extend(merged[k] for k in sorted(merged))
    except BaseException:
        unsubscribe()
        raise
    out: list[dict[str, Any]] = []
    last = since or 0
    for msg in replay:
        # Partials in the replay are stale (their final follows), so they are skipped.
        if msg.seq > last and msg.type != "transcript.partial" and accept(msg):
            if len(out) >= replay_limit:
                truncated = True
                break
            out.append(msg.envelope)
            last = msg.seq
    queue.last_seq = last
    if truncated:
        unsubscribe()
        held.clear()
        queue.overflowed = True  # the sender closes after the replay; the client resumes
    else:
        replaying = False
        for msg in held:
            queue.offer(msg.envelope)
        held.clear()
    return Stream(out, queue, unsubscribe, truncated)
