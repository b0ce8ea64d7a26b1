"""The event bus: global seq, fan-out, replay windows; Redis against a real server."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from app.bus import BusMessage, InProcessBus, RedisBus

REDIS_ENV = "CARECUE_TEST_REDIS_URL"


async def test_in_process_seq_fanout_and_ring() -> None:
    bus = InProcessBus(ring_size=3)
    await bus.start(store_max_seq=40)  # seq continues after what the store holds
    got: list[BusMessage] = []
    unsubscribe = bus.subscribe(got.append)
    for i in range(5):
        await bus.publish("C1", "A1", "transcript.final", {"i": i})
    unsubscribe()
    await bus.publish("C1", "A1", "call.ended", {})
    assert [m.seq for m in got] == [41, 42, 43, 44, 45]
    assert got[0].envelope["type"] == "transcript.final" and got[0].envelope["seq"] == 41
    assert await bus.head() == 46
    retained, floor = await bus.recent(40, 46)
    # Only the last 3 are kept; the caller reads (40, floor] from the store.
    assert [m.seq for m in retained] == [44, 45, 46] and floor == 43


async def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    bus = InProcessBus()
    await bus.start(0)
    got: list[int] = []

    def broken(_m: BusMessage) -> None:
        raise RuntimeError("client bug")

    bus.subscribe(broken)
    bus.subscribe(lambda m: got.append(m.seq))
    await bus.publish("C1", "A1", "call.started", {})
    assert got == [1]


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set (e.g. redis://127.0.0.1:6379/0)")
    return url


async def test_redis_bus_two_instances_share_one_ordered_log(redis_url: str) -> None:
    prefix = f"carecue-test-{uuid.uuid4().hex[:10]}"
    a, b = RedisBus(redis_url, prefix=prefix), RedisBus(redis_url, prefix=prefix)
    try:
        await a.start(store_max_seq=100)
        await b.start(store_max_seq=5)  # never behind what any store holds
        seen_a: list[BusMessage] = []
        seen_b: list[BusMessage] = []
        a.subscribe(seen_a.append)
        b.subscribe(seen_b.append)

        async def publish(bus: RedisBus, call: str, n: int) -> list[int]:
            return [
                (
                    await bus.publish(call, "A1", "transcript.final", {"n": i}, to_agent=i % 2 == 0)
                ).seq
                for i in range(n)
            ]

        sa, sb = await asyncio.gather(publish(a, "CA", 20), publish(b, "CB", 20))
        assert sorted(sa + sb) == list(range(101, 141))
        for _ in range(100):
            if len(seen_a) == 40 and len(seen_b) == 40:
                break
            await asyncio.sleep(0.05)
        # Both instances deliver every message, in global seq order.
        assert [m.seq for m in seen_a] == list(range(101, 141))
        assert [m.seq for m in seen_b] == list(range(101, 141))
        first = seen_b[0]
        assert first.envelope["seq"] == first.seq and first.agent_id == "A1"
        assert first.to_agent == (first.envelope["data"]["n"] % 2 == 0)
        assert await b.head() == 140
        retained, floor = await a.recent(130, 135)
        assert [m.seq for m in retained] == [131, 132, 133, 134, 135] and floor == 100
        assert retained[0].envelope == next(m for m in seen_a if m.seq == 131).envelope
    finally:
        await a._redis.delete(f"{prefix}:seq", f"{prefix}:events")
        await a.close()
        await b.close()


async def test_an_event_with_a_lone_surrogate_is_still_valid_utf8() -> None:
    import json

    from app.bus import InProcessBus

    bus = InProcessBus()
    await bus.start(0)
    msg = await bus.publish("CA\udfff", "A1", "transcript.final", {"text": "x\ud800y", "n": [1]})
    # a browser socket sends UTF-8: this must not raise, nor lose the event
    json.dumps(msg.envelope, ensure_ascii=False).encode("utf-8")
    assert msg.envelope["call_id"] == "CA\ufffd" and msg.envelope["data"]["text"] == "x\ufffdy"
