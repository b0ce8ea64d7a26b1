"""``CallManager`` admission: no call waits behind another call's store round trip or playbook
parse, and each stored playbook version is parsed once, off the event loop.

The store is a fake whose reads block on a gate the test opens, so "slow" is a state the test
controls, not a duration it measures.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.bus import InProcessBus
from app.calls import CallManager, PlaybookState
from app.ingest.base import CallMeta, IngestError
from app.metrics import Metrics
from app.session import CallSession, SessionConfig
from app.store import EnvelopeOp
from tests.app.fakes import fake_components

# The deadlock guard of each wait below: generous, only there so a regression fails instead of
# hanging the suite. Nothing asserts how long anything took.
GUARD_S = 30
SILENCE_S = 100  # a database that does not answer


@dataclass
class GatedRepo:
    """The playbook reads of ``Repository``; the first ``gated`` reads wait for ``release``."""

    version: int | None = 1
    text: str = "rules: []"
    gated: int = 0
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    reads: int = 0

    def latest_playbook_version(self) -> int | None:
        self.reads += 1
        if self.reads <= self.gated:
            self.entered.set()
            self.release.wait(GUARD_S)
        return self.version

    def latest_playbook(self) -> tuple[int, str, str] | None:
        return None if self.version is None else (self.version, self.text, "api")

    stored: set[str] | None = field(default_factory=set)  # ids of stored calls; None: no db

    def stored_call_ids(self, call_ids: list[str]) -> set[str]:
        if self.stored is None:
            raise ConnectionError("the database is away")
        return self.stored & set(call_ids)


@dataclass
class HangingIdsRepo(GatedRepo):
    """A database that takes the id lookup and does not answer until ``release``."""

    asked: threading.Event = field(default_factory=threading.Event)

    def stored_call_ids(self, call_ids: list[str]) -> set[str]:
        self.asked.set()
        self.release.wait(SILENCE_S)
        return set()


@dataclass
class FakeStore:
    repo: GatedRepo
    ops: list[Any] = field(default_factory=list)
    failing: bool = False

    async def enqueue(self, op: Any) -> None:
        self.ops.append(op)

    async def flush(self) -> None:
        return None


def _manager(repo: GatedRepo, max_calls: int = 8, parse: Any = None) -> CallManager:
    bus = InProcessBus()
    calls = CallManager(
        bus=bus,
        store=FakeStore(repo),  # type: ignore[arg-type]
        metrics=Metrics(),
        config=SessionConfig(tick_interval_s=60.0),
        max_calls=max_calls,
        ready_wait_s=1.0,
        parse_playbook=parse,
    )
    calls.components = fake_components()(None, None)
    calls.playbook = PlaybookState(playbook=object(), text="rules: []", source="test", version=1)
    calls.ready.set()
    return calls


def _meta(call_id: str) -> CallMeta:
    return CallMeta(call_id=call_id, agent_id="A1", source="test")


async def test_a_slow_store_does_not_hold_up_another_calls_admission() -> None:
    repo = GatedRepo(gated=1)  # the first call's playbook check hangs in the database
    calls = _manager(repo, max_calls=2)
    await calls._bus.start(0)
    first = asyncio.create_task(calls.open_call(_meta("CA1")))
    try:
        await asyncio.wait_for(asyncio.to_thread(repo.entered.wait, GUARD_S), GUARD_S)
        # While the first call waits on the store, a second is admitted and started ...
        second = await asyncio.wait_for(calls.open_call(_meta("CA2")), GUARD_S)
        assert isinstance(second, CallSession) and calls.get("CA2") is second
        assert not first.done()
        # ... and the first one's slot is already taken: a duplicate and a third call are
        # refused at once instead of queueing behind it.
        for call_id, code in (("CA1", "call_exists"), ("CA3", "at_capacity")):
            with pytest.raises(IngestError) as refused:
                await asyncio.wait_for(calls.open_call(_meta(call_id)), GUARD_S)
            assert refused.value.code == code
    finally:
        repo.release.set()
    session = await asyncio.wait_for(first, GUARD_S)
    assert calls.get("CA1") is session
    assert sorted(calls.live_ids()) == ["CA1", "CA2"]
    await calls.shutdown()


async def test_a_new_playbook_version_is_parsed_once_and_off_the_event_loop() -> None:
    loop_thread = threading.get_ident()
    parse_threads: list[int] = []
    parsing = threading.Event()
    finish_parse = threading.Event()

    def slow_parse(text: str, source: str) -> Any:
        parse_threads.append(threading.get_ident())
        parsing.set()
        finish_parse.wait(GUARD_S)
        return {"parsed": text}

    repo = GatedRepo(version=1)
    calls = _manager(repo, parse=slow_parse)
    await calls._bus.start(0)
    repo.version, repo.text = 2, "rules: [v2]"  # another instance stored a new version
    opening = [asyncio.create_task(calls.open_call(_meta(f"CA{i}"))) for i in range(5)]
    try:
        # the event loop is free while the parse runs: it delivers this thread's result
        await asyncio.wait_for(asyncio.to_thread(parsing.wait, GUARD_S), GUARD_S)
    finally:
        finish_parse.set()
    sessions = await asyncio.wait_for(asyncio.gather(*opening), GUARD_S)
    assert len(sessions) == 5
    assert len(parse_threads) == 1 and parse_threads[0] != loop_thread
    assert calls.playbook is not None and calls.playbook.version == 2
    started = [
        op.envelope["data"]
        for op in calls._store.ops  # type: ignore[attr-defined]
        if isinstance(op, EnvelopeOp) and op.envelope["type"] == "call.started"
    ]
    assert [d["playbook_version"] for d in started] == [2] * 5
    # the next call finds version 2 parsed already
    await calls.open_call(_meta("CA-next"))
    assert len(parse_threads) == 1
    await calls.shutdown()


async def test_an_ended_calls_id_is_not_used_again() -> None:
    """A platform opening a call under an ended call's id (an AudioSocket leg after its grace,
    a Twilio stream started again) gets ``<id>:2``: found in the store, or, when the ended call
    is still in the store's write queue, among this instance's ended calls."""
    repo = GatedRepo()
    repo.stored = {"CA-other-instance", "CA-other-instance:2"}
    calls = _manager(repo)
    await calls._bus.start(0)
    opened = []
    for _ in range(3):  # each ends before the next opens; the store has written none of them
        session = await calls.open_call(_meta("CA1"))
        opened.append(session.call_id)
        await session.end("hangup")
    assert opened == ["CA1", "CA1:2", "CA1:3"]
    assert (await calls.open_call(_meta("CA-other-instance"))).call_id == "CA-other-instance:3"
    long_id = "x" * 128
    first = await calls.open_call(_meta(long_id))
    await first.end("hangup")
    again = await calls.open_call(_meta(long_id))
    assert again.call_id == "x" * 126 + ":2"
    repo.stored = None  # the database is away: calls still open
    assert (await calls.open_call(_meta("CA-new"))).call_id == "CA-new"
    await calls.shutdown()


async def test_a_database_that_does_not_answer_does_not_hold_up_a_new_call() -> None:
    """The id lookup waits ``ID_LOOKUP_TIMEOUT_S`` at most: a stream's set-up (an AudioSocket
    leg waits for it) must not hang on a slow database. The call opens, checked against this
    instance's calls."""
    repo = HangingIdsRepo()
    calls = _manager(repo)
    calls._id_lookup_timeout_s = 0.05
    await calls._bus.start(0)
    try:
        # the guard is far above the lookup's 0.05 s and far below the database's silence
        first = await asyncio.wait_for(calls.open_call(_meta("CA9")), SILENCE_S / 10)
        assert first.call_id == "CA9"
        assert repo.asked.is_set()
        await first.end("hangup")
        # this instance still knows the ended call
        again = await asyncio.wait_for(calls.open_call(_meta("CA9")), SILENCE_S / 10)
        assert again.call_id == "CA9:2"
    finally:
        repo.release.set()
    await calls.shutdown()
