"""The event bus between call sessions and the agent/supervisor sockets.

Every published envelope gets a global ``seq`` (strictly increasing, shared by all streams), so a
client can resume with ``since`` from any stream. Two implementations:

* ``InProcessBus`` (default): a counter seeded from the store, a bounded ring of recent messages
  for fast replay, synchronous fan-out to local subscribers.
* ``RedisBus`` (``CARECUE_REDIS_URL``): a Redis stream is the ordered log for several service
  instances. A Lua script does ``INCR`` and ``XADD`` atomically, so stream order == seq order
  whichever instance published; every instance tails the stream and fans out locally.

Subscribers are plain callbacks that must not block (``app.delivery.ClientQueue.offer``); the bus
never awaits a slow client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

log = logging.getLogger("carecue.bus")


@dataclass(frozen=True, slots=True)
class BusMessage:
    """An envelope plus routing: the agent whose stream it is on, and whether that agent sees it."""

    seq: int
    agent_id: str
    to_agent: bool
    envelope: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.envelope["type"])

    @property
    def call_id(self) -> str:
        return str(self.envelope["call_id"])


Subscriber = Callable[[BusMessage], None]


def iso(dt: datetime) -> str:
    """An instant as the wire writes it: ISO 8601 UTC, milliseconds, ``Z``."""
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(UTC))


def make_envelope(
    seq: int, kind: str, call_id: str, data: dict[str, Any], at: str
) -> dict[str, Any]:
    """The wire envelope. Every string in it is valid UTF-8 (a lone surrogate from a platform
    or an engine becomes U+FFFD), so one odd event can never break a client's stream."""
    env = {"type": kind, "seq": seq, "call_id": call_id, "at": at, "data": data}
    return _utf8_safe(env)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _utf8_safe(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {_utf8_safe(k): _utf8_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_utf8_safe(v) for v in value]
    return value


class EventBus(Protocol):
    """What sessions publish to and websocket clients subscribe to."""

    async def start(self, store_max_seq: int) -> None: ...

    async def publish(
        self, call_id: str, agent_id: str, kind: str, data: dict[str, Any], *, to_agent: bool = True
    ) -> BusMessage: ...

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Register a non-blocking callback for live messages; returns the unsubscribe function."""
        ...

    async def head(self) -> int:
        """The newest seq published so far."""
        ...

    async def recent(self, since: int, upto: int) -> tuple[list[BusMessage], int]:
        """Retained messages with ``since < seq <= upto`` and the ``floor`` they are complete above.

        When ``floor > since`` the caller reads ``(since, floor]`` from the store's event log.
        """
        ...

    async def hold_calls(self, call_ids: list[str], ttl_s: float) -> None:
        """Mark these calls as live on this instance for ``ttl_s`` (renewed while they run)."""
        ...

    async def release_call(self, call_id: str) -> None:
        """This instance no longer runs the call."""
        ...

    async def held_elsewhere(self, call_ids: list[str]) -> set[str]:
        """Of these calls, the ones another live instance runs (its hold has not expired)."""
        ...

    async def claim_once(self, key: str, ttl_s: float) -> bool:
        """True for exactly one caller (across instances) per ``key`` within ``ttl_s``."""
        ...

    async def close(self) -> None: ...


class _Fanout:
    def __init__(self) -> None:
        self._subs: dict[int, Subscriber] = {}
        self._next = 0

    def subscribe(self, cb: Subscriber) -> Callable[[], None]:
        key = self._next
        self._next += 1
        self._subs[key] = cb

        def unsubscribe() -> None:
            self._subs.pop(key, None)

        return unsubscribe

    def deliver(self, msg: BusMessage) -> None:
        for cb in list(self._subs.values()):
            try:
                cb(msg)
            except Exception:  # a broken client must not stop delivery to the others
                log.exception("subscriber failed", extra={"seq": msg.seq})


class InProcessBus:
    """Single-instance bus. ``publish`` does not yield, so seq order is delivery order."""

    def __init__(self, ring_size: int = 20_000) -> None:
        self._seq = 0
        self._floor = 0
        self._ring: deque[BusMessage] = deque(maxlen=ring_size)
        self._fanout = _Fanout()

    async def start(self, store_max_seq: int) -> None:
        self._seq = max(self._seq, store_max_seq)
        self._floor = self._seq

    async def publish(
        self, call_id: str, agent_id: str, kind: str, data: dict[str, Any], *, to_agent: bool = True
    ) -> BusMessage:
        self._seq += 1
        msg = BusMessage(
            self._seq, agent_id, to_agent, make_envelope(self._seq, kind, call_id, data, now_iso())
        )
        if len(self._ring) == self._ring.maxlen:
            self._floor = self._ring[0].seq
        self._ring.append(msg)
        self._fanout.deliver(msg)
        return msg

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        return self._fanout.subscribe(callback)

    async def head(self) -> int:
        return self._seq

    async def recent(self, since: int, upto: int) -> tuple[list[BusMessage], int]:
        return [m for m in self._ring if since < m.seq <= upto], self._floor

    async def hold_calls(self, call_ids: list[str], ttl_s: float) -> None:
        return None  # one instance: no other can run a call

    async def release_call(self, call_id: str) -> None:
        return None

    async def held_elsewhere(self, call_ids: list[str]) -> set[str]:
        return set()

    async def claim_once(self, key: str, ttl_s: float) -> bool:
        return True

    async def close(self) -> None:
        return None


# KEYS[1] = seq counter, KEYS[2] = stream; ARGV[1] = payload, ARGV[2] = maxlen.
# The stream id is "<seq>-1" so that readers get the seq from the id and order is global.
_PUBLISH_LUA = """
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'm', ARGV[1])
return seq
"""
# Never let the counter fall behind what the store already holds (e.g. Redis was flushed).
_SEED_LUA = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end
return cur
"""


class RedisBus:
    """Bus for several instances, on a Redis stream (``<prefix>:events``) and counter."""

    def __init__(self, url: str, prefix: str = "carecue", maxlen: int = 100_000) -> None:
        import redis.asyncio as aioredis

        # Typed as Any: redis-py's stubs union bytes/str for every reply.
        self._redis: Any = aioredis.from_url(url, decode_responses=True)
        self._reader_conn: Any = aioredis.from_url(url, decode_responses=True)
        self._seq_key = f"{prefix}:seq"
        self._stream = f"{prefix}:events"
        self._maxlen = maxlen
        self._fanout = _Fanout()
        self._task: asyncio.Task[None] | None = None
        self._publish = self._redis.register_script(_PUBLISH_LUA)
        self._seed = self._redis.register_script(_SEED_LUA)
        self._started = asyncio.Event()
        # Call holds: ``<prefix>:live:<call_id>`` = this instance's id, expiring unless renewed,
        # so a call whose instance died is seen as nobody's within the hold's ttl.
        self._prefix = prefix
        self.instance_id = uuid.uuid4().hex

    async def start(self, store_max_seq: int) -> None:
        await self._seed(keys=[self._seq_key], args=[store_max_seq])
        last = await self._redis.xrevrange(self._stream, count=1)
        last_id = last[0][0] if last else "0-0"
        self._task = asyncio.create_task(self._tail(last_id), name="redis-bus-tail")

    @staticmethod
    def _decode(entry_id: str, fields: dict[str, str]) -> BusMessage:
        seq = int(entry_id.split("-", 1)[0])
        body = json.loads(fields["m"])
        env = make_envelope(seq, body["type"], body["call_id"], body["data"], body["at"])
        return BusMessage(seq, body["agent_id"], bool(body["to_agent"]), env)

    async def _tail(self, last_id: str) -> None:
        while True:
            try:
                resp = await self._reader_conn.xread({self._stream: last_id}, block=1000, count=500)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis bus read failed; retrying")
                await asyncio.sleep(0.5)
                continue
            for _stream, entries in resp or []:
                for entry_id, fields in entries:
                    last_id = entry_id
                    try:
                        msg = self._decode(entry_id, fields)
                    except (KeyError, ValueError):
                        log.warning("undecodable bus entry", extra={"entry": entry_id})
                        continue
                    self._fanout.deliver(msg)

    async def publish(
        self, call_id: str, agent_id: str, kind: str, data: dict[str, Any], *, to_agent: bool = True
    ) -> BusMessage:
        at = now_iso()
        payload = json.dumps(
            {
                "type": kind,
                "call_id": call_id,
                "agent_id": agent_id,
                "to_agent": to_agent,
                "at": at,
                "data": data,
            },
            separators=(",", ":"),
        )
        seq = int(
            await self._publish(keys=[self._seq_key, self._stream], args=[payload, self._maxlen])
        )
        return BusMessage(seq, agent_id, to_agent, make_envelope(seq, kind, call_id, data, at))

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        return self._fanout.subscribe(callback)

    async def head(self) -> int:
        return int(await self._redis.get(self._seq_key) or 0)

    async def recent(self, since: int, upto: int) -> tuple[list[BusMessage], int]:
        out: list[BusMessage] = []
        first = await self._redis.xrange(self._stream, count=1)
        floor = int(first[0][0].split("-", 1)[0]) - 1 if first else upto
        start = f"{max(since, floor) + 1}-0"
        if max(since, floor) < upto:
            for entry_id, fields in await self._redis.xrange(
                self._stream, min=start, max=f"{upto}-1"
            ):
                try:
                    out.append(self._decode(entry_id, fields))
                except (KeyError, ValueError):
                    continue
        return out, floor

    def _live_key(self, call_id: str) -> str:
        return f"{self._prefix}:live:{call_id}"

    async def hold_calls(self, call_ids: list[str], ttl_s: float) -> None:
        if not call_ids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for call_id in call_ids:
                pipe.set(self._live_key(call_id), self.instance_id, px=int(ttl_s * 1000))
            await pipe.execute()

    async def release_call(self, call_id: str) -> None:
        key = self._live_key(call_id)
        if await self._redis.get(key) == self.instance_id:
            await self._redis.delete(key)

    async def held_elsewhere(self, call_ids: list[str]) -> set[str]:
        if not call_ids:
            return set()
        owners = await self._redis.mget([self._live_key(c) for c in call_ids])
        return {
            c for c, owner in zip(call_ids, owners, strict=True)
            if owner is not None and owner != self.instance_id
        }

    async def claim_once(self, key: str, ttl_s: float) -> bool:
        return bool(
            await self._redis.set(f"{self._prefix}:once:{key}", self.instance_id, nx=True,
                                  px=int(ttl_s * 1000))
        )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self._reader_conn.aclose()
        await self._redis.aclose()


def make_bus(
    redis_url: str | None, ring_size: int, stream_maxlen: int, prefix: str = "carecue"
) -> EventBus:
    """The bus the settings ask for."""
    if redis_url:
        return RedisBus(redis_url, prefix=prefix, maxlen=stream_maxlen)
    return InProcessBus(ring_size=ring_size)
