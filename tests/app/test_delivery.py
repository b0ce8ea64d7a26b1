"""The per-client queue's drop policy: partials go first, signals coalesce, finals and nudges
are never dropped (the client is closed to resume instead)."""

from __future__ import annotations

from typing import Any

from app.delivery import ClientQueue


def e(seq: int, kind: str, call: str = "C1") -> dict[str, Any]:
    return {"type": kind, "seq": seq, "call_id": call, "at": "", "data": {}}


async def drain(q: ClientQueue) -> list[tuple[int, str]]:
    out = []
    while len(q):
        env = await q.get()
        assert env is not None
        out.append((env["seq"], env["type"]))
    return out


async def test_full_queue_drops_oldest_partial_first() -> None:
    q = ClientQueue(3)
    q.offer(e(1, "transcript.partial"))
    q.offer(e(2, "transcript.final"))
    q.offer(e(3, "transcript.partial"))
    q.offer(e(4, "nudge.created"))
    assert await drain(q) == [
        (2, "transcript.final"),
        (3, "transcript.partial"),
        (4, "nudge.created"),
    ]


async def test_partial_is_dropped_when_nothing_else_can_go() -> None:
    q = ClientQueue(2)
    q.offer(e(1, "transcript.final"))
    q.offer(e(2, "nudge.created"))
    q.offer(e(3, "transcript.partial"))
    assert not q.overflowed
    assert await drain(q) == [(1, "transcript.final"), (2, "nudge.created")]


async def test_signals_coalesce_per_call() -> None:
    q = ClientQueue(3)
    q.offer(e(1, "signals.updated", "C1"))
    q.offer(e(2, "signals.updated", "C2"))
    q.offer(e(3, "transcript.final"))
    q.offer(e(4, "signals.updated", "C1"))
    assert await drain(q) == [
        (2, "signals.updated"),
        (3, "transcript.final"),
        (4, "signals.updated"),
    ]


async def test_must_deliver_overflow_closes_instead_of_dropping() -> None:
    q = ClientQueue(2)
    q.offer(e(1, "transcript.final"))
    q.offer(e(2, "nudge.created"))
    first = await q.get()
    assert first is not None and q.last_sent == 1
    q.offer(e(3, "nudge.resolved"))
    q.offer(e(4, "escalation"))
    assert q.overflowed
    assert await q.get() is None  # the socket closes with 1013; resume from last_sent
    assert q.last_sent == 1


async def test_seq_never_goes_backwards() -> None:
    q = ClientQueue(10)
    q.offer(e(5, "transcript.final"))
    q.offer(e(3, "transcript.final"))  # duplicate from replay/live overlap
    q.offer(e(5, "transcript.final"))
    q.offer(e(6, "call.ended"))
    assert [s for s, _ in await drain(q)] == [5, 6]
