"""The store on SQLite and on real PostgreSQL: migrations, what a call's events become, replay
from the event log, analytics and playbook versions."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from app.store import DURABLE_TYPES, EnvelopeOp, FeedbackOp, Store
from tests.app.store_backends import database_url

BACKENDS = ["sqlite", "postgres"]


def env(seq: int, kind: str, call_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": kind,
        "seq": seq,
        "call_id": call_id,
        "at": "2026-11-27T15:00:00.123Z",
        "data": data,
    }


def call_events(call_id: str, first_seq: int, agent_id: str = "A1") -> list[dict[str, Any]]:
    s = first_seq
    return [
        env(
            s,
            "call.started",
            call_id,
            {
                "call_id": call_id,
                "agent_id": agent_id,
                "source": "twilio",
                "started_at": "2026-11-27T15:00:00Z",
                "tracks": ["caller", "agent"],
                "custom": {"stream_sid": "MZ1"},
                "playbook_version": 1,
            },
        ),
        env(
            s + 1,
            "transcript.partial",
            call_id,
            {"speaker": "caller", "text": "I'm", "segment_id": "c1", "start_s": 0.0, "end_s": 0.5},
        ),
        env(
            s + 2,
            "transcript.final",
            call_id,
            {
                "speaker": "caller",
                "text": "I'm terrified",
                "segment_id": "c1",
                "start_s": 0.0,
                "end_s": 1.2,
            },
        ),
        env(
            s + 3,
            "signals.updated",
            call_id,
            {
                "distress": 0.8,
                "concerns": {"fear": 0.9},
                "trend": "rising",
                "crisis": False,
                "active": ["fear"],
                "at_s": 1.3,
            },
        ),
        env(
            s + 4,
            "nudge.created",
            call_id,
            {
                "nudge_id": f"{call_id}:n1",
                "rule_id": "acknowledge_concern",
                "title": "Acknowledge",
                "suggestion": "That sounds scary",
                "reason": 'caller said "terrified"',
                "priority": "suggest",
                "expires_at": "2026-11-27T15:01:00Z",
                "at_s": 11.0,
                "latency_s": 0.4,
            },
        ),
        env(
            s + 5,
            "transcript.final",
            call_id,
            {
                "speaker": "agent",
                "text": "That sounds scary",
                "segment_id": "a1",
                "start_s": 12.0,
                "end_s": 13.0,
            },
        ),
        env(s + 6, "nudge.resolved", call_id, {"nudge_id": f"{call_id}:n1", "how": "agent_said"}),
        env(
            s + 7,
            "escalation",
            call_id,
            {
                "nudge_id": f"{call_id}:n1",
                "rule_id": "acknowledge_concern",
                "severity": "suggest",
                "reason": "why",
            },
        ),
        env(
            s + 8,
            "call.ended",
            call_id,
            {
                "call_id": call_id,
                "agent_id": agent_id,
                "source": "twilio",
                "started_at": "2026-11-27T15:00:00Z",
                "ended_at": "2026-11-27T15:02:00Z",
                "duration_s": 120.0,
                "reason": "stop",
                "max_distress": 0.8,
            },
        ),
    ]


async def _fill(store: Store, call_id: str, agent_id: str, first_seq: int) -> None:
    for e in call_events(call_id, first_seq, agent_id):
        await store.enqueue(EnvelopeOp(e, agent_id, to_agent=e["type"] != "escalation"))
    await store.flush()


@pytest.mark.parametrize("kind", BACKENDS)
def test_store_roundtrip(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as url:
        store = Store(url)
        try:
            store.migrate()
            store.migrate()  # idempotent at every start-up
            tables = set(inspect(store.engine).get_table_names())
            assert {
                "calls",
                "transcript_segments",
                "signals",
                "nudges",
                "feedback",
                "escalations",
                "events",
                "playbooks",
                "alembic_version",
            } <= tables

            async def scenario() -> None:
                await store.start()
                await _fill(store, "C1", "A1", 1)
                await _fill(store, "C2", "A2", 10)
                await store.enqueue(
                    FeedbackOp(
                        "C1", "C1:n1", "acknowledge_concern", "A1", "helpful", datetime.now(UTC)
                    )
                )
                await store.flush()
                await store.close()

            asyncio.run(scenario())
            repo = store.repo
            call = repo.get_call("C1")
            assert call is not None
            assert [t["text"] for t in call["transcript"]] == ["I'm terrified", "That sounds scary"]
            assert call["signals"][0]["concerns"] == {"fear": 0.9} and call["signals"][0][
                "active"
            ] == ["fear"]
            assert call["nudges"][0]["resolved_how"] == "agent_said"
            assert call["nudges"][0]["latency_s"] == pytest.approx(0.4)
            assert call["feedback"][0]["action"] == "helpful"
            assert call["escalations"][0]["severity"] == "suggest"
            assert (
                call["ended_at"].startswith("2026-11-27T15:02:00") and call["end_reason"] == "stop"
            )
            assert call["custom"] == {"stream_sid": "MZ1"}

            # Event log: partials are not kept; per-agent replay hides what agents don't see.
            all_seqs = [e.seq for e in repo.events_since(0)]
            assert all_seqs == [1, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18]
            a1 = repo.events_since(4, agent_id="A1")
            assert [e.seq for e in a1] == [5, 6, 7, 9]
            assert a1[0].envelope()["data"]["rule_id"] == "acknowledge_concern"
            assert a1[0].envelope()["at"] == "2026-11-27T15:00:00.123Z"
            assert [e.seq for e in repo.events_since(0, upto=4)] == [1, 3, 4]
            assert [e.seq for e in repo.events_for_calls(["C2"], upto=13)] == [10, 12, 13]
            assert repo.max_seq() == 18

            assert [c["call_id"] for c in repo.list_calls(agent_id="A2")] == ["C2"]
            assert len(repo.list_calls()) == 2
            assert repo.nudge_owner("C2:n1") == ("C2", "A2", "acknowledge_concern")
            # what CallManager asks before it lets a call take an id
            assert repo.stored_call_ids(["C1", "C1:2", "C3"]) == {"C1"}
            assert repo.stored_call_ids([]) == set()

            rules = {r["rule_id"]: r for r in repo.nudge_analytics()}
            ack = rules["acknowledge_concern"]
            assert (ack["shown"], ack["agent_said"], ack["helpful"]) == (2, 2, 1)
            assert ack["said_rate"] == 1.0 and ack["helpful_rate"] == 1.0
            assert repo.nudge_analytics(agent_id="A2")[0]["helpful"] == 0

            assert repo.latest_playbook() is None
            v1 = repo.save_playbook("name: a\nrules: []\n", "api", "admin")
            v2 = repo.save_playbook("name: b\nrules: []\n", "api", "admin")
            assert v2 > v1 and repo.latest_playbook() == (v2, "name: b\nrules: []\n", "api")
        finally:
            store.engine.dispose()


@pytest.mark.parametrize("kind", BACKENDS)
def test_dangling_calls_are_closed_at_startup(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as url:
        store = Store(url)
        try:
            store.migrate()

            async def open_only() -> None:
                await store.start()
                await store.enqueue(EnvelopeOp(call_events("C9", 1)[0], "A1", True))
                await store.close()

            asyncio.run(open_only())
            assert store.repo.get_call("C9")["ended_at"] is None  # type: ignore[index]
            # start-up finds it open and ends it with a call.ended event (app.main)
            assert [c["call_id"] for c in store.repo.open_calls()] == ["C9"]
            ended = {
                "type": "call.ended",
                "seq": 9,
                "call_id": "C9",
                "at": "2026-11-27T15:05:00.000Z",
                "data": {
                    "call_id": "C9",
                    "agent_id": "A1",
                    "source": "twilio",
                    "started_at": "2026-11-27T15:00:00.000Z",
                    "ended_at": "2026-11-27T15:05:00.000Z",
                    "duration_s": 300.0,
                    "reason": "server_restart",
                    "max_distress": 0.0,
                },
            }
            store.repo.apply([EnvelopeOp(ended, "A1", True)])
            assert store.repo.open_calls() == []
            call = store.repo.get_call("C9")
            assert call is not None and call["end_reason"] == "server_restart"
        finally:
            store.engine.dispose()


def test_one_bad_op_does_not_lose_the_batch(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    store.migrate()

    async def scenario() -> None:
        await store.start()
        events = call_events("C1", 1)
        for e in events[:3]:
            await store.enqueue(EnvelopeOp(e, "A1", True))
        # A duplicate seq violates the event log's primary key.
        await store.enqueue(EnvelopeOp(events[2], "A1", True))
        for e in events[3:]:
            await store.enqueue(EnvelopeOp(e, "A1", True))
        await store.flush()
        await store.close()

    asyncio.run(scenario())
    assert store.write_errors == 1
    call = store.repo.get_call("C1")
    assert call is not None and call["ended_at"] is not None and call["nudges"]


def test_an_event_off_the_contract_stays_in_the_log(tmp_path: Path) -> None:
    """Data the contract's models reject is not projected into the call tables, but the event
    is kept for replay and nothing else of the batch is lost."""
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    store.migrate()
    events = call_events("C1", 1)
    signals = next(e for e in events if e["type"] == "signals.updated")
    signals["data"] = {**signals["data"], "distress": "very high"}

    async def scenario() -> None:
        await store.start()
        for e in events:
            await store.enqueue(EnvelopeOp(e, "A1", True))
        await store.flush()
        await store.close()

    asyncio.run(scenario())
    assert store.write_errors == 0
    assert signals["seq"] in [e.seq for e in store.repo.events_since(0)]
    call = store.repo.get_call("C1")
    assert call is not None and call["signals"] == []
    assert [t["text"] for t in call["transcript"]] == ["I'm terrified", "That sounds scary"]
    assert call["nudges"] and call["ended_at"] is not None


@pytest.mark.parametrize("kind", BACKENDS)
def test_migrations_match_the_models(kind: str, tmp_path: Path) -> None:
    """A model change without a migration would only show up on a customer's database."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.store.models import Base

    with database_url(kind, tmp_path) as url:
        store = Store(url)
        try:
            store.migrate()
            with store.engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert diff == []
        finally:
            store.engine.dispose()


def test_a_postgres_outage_delays_writes_and_loses_none(tmp_path: Path) -> None:
    """A real outage: the scratch database refuses connections and its sessions are killed
    while a call's events keep coming; everything is written once it is back."""
    import os
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get("CARECUE_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("CARECUE_TEST_POSTGRES_URL is not set")
    name = f"cc_outage_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)

    def outage(on: bool) -> None:
        with admin.connect() as conn:
            allow = "false" if on else "true"
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {allow}'))
            if on:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :d AND pid <> pg_backend_pid()"
                    ),
                    {"d": name},
                )

    events = call_events("C-outage", 1)

    async def run() -> Store:
        store = Store(url)
        store.migrate()
        await store.start()
        await store.enqueue(EnvelopeOp(events[0], "A1", True))
        await store.flush()
        outage(True)
        try:
            for e in events[1:]:
                await store.enqueue(EnvelopeOp(e, "A1", True))
            for _ in range(100):  # the writer notices within a retry or two
                if store.failing:
                    break
                await asyncio.sleep(0.05)
            assert store.failing and not store.healthy  # /readyz turns traffic away
        finally:
            outage(False)
        await asyncio.wait_for(store.flush(), 30)
        assert store.healthy and store.write_errors == 0 and store.late_writes >= 1
        return store

    try:
        store = asyncio.run(run())
        stored = [e.seq for e in store.repo.events_since(0)]
        durable = [e["seq"] for e in events if e["type"] in DURABLE_TYPES]
        assert sorted(stored) == sorted(durable)
        asyncio.run(store.close())
    finally:
        outage(False)
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                {"d": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_the_sqlite_database_is_private(tmp_path: Path) -> None:
    import os
    import stat

    async def write() -> None:
        store = Store(f"sqlite:///{tmp_path / 'data' / 'carecue.db'}")
        store.migrate()
        await store.start()
        await store.enqueue(EnvelopeOp(call_events("C1", 1)[0], "A1", True))
        await store.flush()
        await store.close()

    asyncio.run(write())
    assert stat.S_IMODE(os.stat(tmp_path / "data").st_mode) == 0o700
    for name in os.listdir(tmp_path / "data"):  # the database and its WAL files
        assert stat.S_IMODE(os.stat(tmp_path / "data" / name).st_mode) == 0o600, name


@pytest.mark.parametrize("kind", BACKENDS)
def test_calls_list_with_or_without_practice_calls(kind: str, tmp_path: Path) -> None:
    """The wallboard lists real calls only; a trainer's view lists practice calls only. The
    filter is in the query, so practice calls do not use up the wallboard's page of calls."""
    with database_url(kind, tmp_path) as url:
        store = Store(url)
        try:
            store.migrate()

            async def scenario() -> None:
                await store.start()
                await _fill(store, "C1", "A1", 1)
                await _fill(store, "practice-P1", "A1", 10)
                await _fill(store, "practiceXP2", "A1", 20)  # not the prefix: a real call
                await store.close()

            asyncio.run(scenario())
            ids = {c["call_id"] for c in store.repo.list_calls()}
            assert ids == {"C1", "practice-P1", "practiceXP2"}
            real = {c["call_id"] for c in store.repo.list_calls(practice=False)}
            assert real == {"C1", "practiceXP2"}
            assert [c["call_id"] for c in store.repo.list_calls(practice=True)] == ["practice-P1"]
            assert [c["call_id"] for c in store.repo.list_calls(practice=False, limit=1)] != [
                "practice-P1"
            ]
        finally:
            store.engine.dispose()
