"""An in-process harness: a real ``CallSession`` driven by a script, its events returned.

No server, no sockets, no database: frames go straight into ``CallSession.push`` and every event
it publishes is collected from an in-process bus, as an agent's socket would receive it::

    events = await run_session(components, [
        said("caller", "I'm terrified"),  # an AudioFrame (tests/app/fakes.py: text as audio)
        Expect("nudge.created"),
        AgentFeedback("accepted"),
        Expect("nudge.resolved"),
    ])

The session's stages run concurrently, as in the service, so a script that depends on earlier
output waits for it with ``Expect`` (a deadlock guard bounds the wait; nothing is timed).
``run_session`` ends the call (``end_reason``) after the last step and returns everything
published, ``call.started`` to ``call.ended``. What the session handed the store is in
``RecordingStore.ops`` when the caller passes one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.bus import BusMessage, InProcessBus
from app.components import Components
from app.ingest.base import CallMeta
from app.metrics import Metrics
from app.session import CallSession, SessionConfig
from app.store import StoreOp
from asr.types import AudioFrame
from nudges.events import FeedbackAction


@dataclass(frozen=True, slots=True)
class Expect:
    """Wait until ``count`` events of ``type`` have been published on this call in all."""

    type: str
    count: int = 1


@dataclass(frozen=True, slots=True)
class AgentFeedback:
    """The agent presses a button on a nudge: ``nudge`` indexes the ``nudge.created`` events
    published so far (-1: the newest)."""

    action: FeedbackAction
    nudge: int = -1


Step = AudioFrame | Expect | AgentFeedback


@dataclass
class RecordingStore:
    """What a ``CallSession`` needs of ``app.store.Store``; keeps every op it is given."""

    ops: list[StoreOp] = field(default_factory=list)
    failing: bool = False  # the database is never away here

    async def enqueue(self, op: StoreOp) -> None:
        self.ops.append(op)

    async def flush(self) -> None:
        return None


class ExpectationFailed(AssertionError):
    """An ``Expect`` step was not met before the guard ran out; says what was published."""


async def run_session(
    components: Components,
    steps: Iterable[Step],
    *,
    meta: CallMeta | None = None,
    playbook: Any = None,
    config: SessionConfig | None = None,
    metrics: Metrics | None = None,
    store: RecordingStore | None = None,
    end_reason: str = "stop",
    guard_s: float = 30.0,
) -> list[dict[str, Any]]:
    """Run one call through a real ``CallSession`` and return the envelopes it published.

    ``playbook`` is what ``components.make_engine`` gets (a ``nudges.playbook.Playbook`` for
    the real engine; fakes may take anything). An exception from a step (e.g. the ``IngestError``
    of bad audio) propagates after the call has been ended.
    """
    meta = meta or CallMeta(call_id="CA-harness", agent_id="A1", source="harness")
    bus = InProcessBus()
    await bus.start(0)
    events: list[dict[str, Any]] = []
    published = asyncio.Event()

    def collect(msg: BusMessage) -> None:
        events.append(msg.envelope)
        published.set()

    unsubscribe = bus.subscribe(collect)
    session = CallSession(
        meta,
        components=components,
        playbook=playbook,
        playbook_version=None,
        bus=bus,
        store=store or RecordingStore(),  # type: ignore[arg-type]
        metrics=metrics or Metrics(),
        config=config or SessionConfig(),
    )
    await session.start()
    try:
        for step in steps:
            if isinstance(step, AudioFrame):
                await session.push(step)
            elif isinstance(step, Expect):
                await _expect(step, events, published, guard_s)
            else:
                created = [e for e in events if e["type"] == "nudge.created"]
                if not created:
                    raise ExpectationFailed("AgentFeedback before any nudge.created")
                nudge_id = created[step.nudge]["data"]["nudge_id"]
                await session.feedback(nudge_id, step.action, meta.agent_id)
    finally:
        await session.end(end_reason)
        unsubscribe()
        await bus.close()
    return events


async def _expect(
    step: Expect, events: list[dict[str, Any]], published: asyncio.Event, guard_s: float
) -> None:
    async def met() -> None:
        while sum(e["type"] == step.type for e in events) < step.count:
            published.clear()
            await published.wait()

    try:
        await asyncio.wait_for(met(), guard_s)
    except TimeoutError:
        seen = [e["type"] for e in events]
        raise ExpectationFailed(f"no {step.count} x {step.type} in {seen}") from None
