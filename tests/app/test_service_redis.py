"""Two service instances behind one Redis bus and one database (SQLite, or PostgreSQL as a
deployment runs it): a call ingested on one instance reaches an agent connected to the other, in
order, with replay. The slow test runs one instance on the real models (docs/deploy.md)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from tests.app.fakes import fake_components
from tests.app.service_helpers import (
    Live,
    live,
    make_settings,
    read_until,
    recv_json,
    tok,
    twilio_media,
    twilio_start,
    twilio_stop,
)
from tests.app.store_backends import database_url


def _redis_url() -> str:
    url = os.environ.get("CARECUE_TEST_REDIS_URL")
    if not url:
        pytest.skip("CARECUE_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    return url


def _forget(url: str, prefix: str) -> None:
    import redis

    r = redis.Redis.from_url(url)
    r.delete(f"{prefix}:seq", f"{prefix}:events")
    r.close()


def _instance(tmp: Path, url: str, db: str, prefix: str) -> Live:
    """An instance on the fakes, on Redis ``url`` (keys under ``prefix``) and database ``db``."""
    settings = make_settings(tmp, redis_url=url, database_url=db)
    return Live(create_app(settings, components_factory=fake_components(), bus_prefix=prefix))


def _scared_call(ingest: Live, agent: Live) -> list[dict[str, Any]]:
    """Call CA1 streamed into ``ingest``: what agent A1 on ``agent`` got, up to ``call.ended``."""
    with agent.ws("/v1/agents/A1/events", tok("agent", "A1")) as ws:
        with ingest.ws("/v1/ingest/twilio", tok("ingest")) as tw:
            tw.send(twilio_start("CA1", "A1"))
            tw.send(twilio_media(b"hello"))
            tw.send(twilio_media(b"I'm terrified"))
            tw.send(twilio_stop("CA1"))
        return read_until(ws, lambda e: e["type"] == "call.ended")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_call_on_one_instance_reaches_agent_on_the_other(tmp_path: Path, backend: str) -> None:
    url = _redis_url()
    with database_url(backend, tmp_path) as db:
        _call_across_instances(tmp_path, url, db)


def _call_across_instances(tmp_path: Path, url: str, db: str) -> None:
    prefix = f"carecue-test-{uuid.uuid4().hex[:10]}"
    servers = []
    try:
        for i in range(2):
            server = _instance(tmp_path / str(i), url, db, prefix)
            server.start()
            servers.append(server)
        a, b = servers
        got = _scared_call(ingest=a, agent=b)
        types = [e["type"] for e in got]
        assert types[0] == "call.started" and "nudge.created" in types
        seqs = [e["seq"] for e in got]
        assert seqs == sorted(set(seqs))
        # Replay on instance B of a call handled by A, from the shared log.
        with b.ws("/v1/supervisor/events?since=0", tok("supervisor")) as sup:
            replay = read_until(sup, lambda e: e["type"] == "call.ended")
        assert [e["seq"] for e in replay] == [
            e["seq"] for e in got if e["type"] != "transcript.partial"
        ]
        assert b.get("/v1/calls/CA1", tok("supervisor")).json()["nudges"]
    finally:
        for server in servers:
            server.stop()
        _forget(url, prefix)


def _slow_writes(server: Live, delay_s: float) -> None:
    """A database under load: every batch the instance's store writer applies lands late."""
    import time

    store = server.app.state.store
    write = store._write

    def slow_write(batch: list[object]) -> None:
        time.sleep(delay_s)
        write(batch)

    store._write = slow_write


def test_when_call_ended_arrives_the_shared_store_already_has_the_call(tmp_path: Path) -> None:
    """Another instance (or a report job) that reads the shared database as soon as an agent
    or supervisor sees ``call.ended`` finds the call's transcript and nudges there, even when
    the writing instance's database is slow. Read here through a second engine, as instance B
    does; the instance's own routes would wait for its own writer and hide the gap."""
    from app.store import Repository
    from app.store.db import make_engine

    db = f"sqlite:///{tmp_path / 'store.db'}"
    with live(tmp_path, database_url=db) as s:
        _slow_writes(s, 0.3)
        got = _scared_call(ingest=s, agent=s)
        engine = make_engine(db)
        try:
            stored = Repository(engine).get_call("CA1")
        finally:
            engine.dispose()
        assert stored is not None
        finals = [e for e in got if e["type"] == "transcript.final"]
        nudges = [e for e in got if e["type"] == "nudge.created"]
        assert len(stored["transcript"]) == len(finals) == 2
        assert [n["nudge_id"] for n in stored["nudges"]] == [
            e["data"]["nudge_id"] for e in nudges
        ] != []


@pytest.mark.slow
def test_real_models_instance_and_fake_instance_share_postgres_and_redis(
    tmp_path: Path,
) -> None:
    """Instance A runs the real ASR, classifier and playbook; instance B (fakes) serves the
    agent and the supervisor. A crisis call streamed into A reaches the agent on B at once,
    and B answers for the call from the shared PostgreSQL store."""
    import asyncio

    from tests.app.test_e2e_twilio import CRISIS
    from tests.app.twilio_client import collect, render_cached, stream_twilio

    url = _redis_url()
    prefix = f"carecue-test-{uuid.uuid4().hex[:10]}"
    with database_url("postgresql", tmp_path) as db:
        real = Live(create_app(
            make_settings(tmp_path / "a", redis_url=url, database_url=db, tick_interval_s=0.5),
            bus_prefix=prefix,
        ))
        fake = Live(create_app(
            make_settings(tmp_path / "b", redis_url=url, database_url=db),
            components_factory=fake_components(), bus_prefix=prefix,
        ))
        try:
            real.start(ready_timeout=900)
            fake.start()
            audio, _ = render_cached(CRISIS)

            async def run() -> list[dict[str, object]]:
                reader = asyncio.create_task(collect(
                    f"{fake.ws_base}/v1/agents/A7/events", tok("agent", "A7"), "CA-two"
                ))
                await asyncio.sleep(0.3)
                await stream_twilio(
                    f"{real.ws_base}/v1/ingest/twilio", tok("ingest"), "CA-two", "A7", audio
                )
                return await reader

            got = asyncio.run(run())
            nudges = [e for e in got if e["type"] == "nudge.created"]
            assert any(e["data"]["rule_id"] == "self_harm_protocol" for e in nudges)  # type: ignore[index]
            assert any(e["type"] == "transcript.final" for e in got)
            stored = fake.get("/v1/calls/CA-two", tok("supervisor")).json()
            assert any(n["rule_id"] == "self_harm_protocol" for n in stored["nudges"])
            assert stored["transcript"]
        finally:
            for server in (real, fake):
                server.stop()
            _forget(url, prefix)


def test_an_instance_never_ends_its_own_just_ended_call_a_second_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between a call's end on this instance and the write of its ``call.ended``, the store
    still has the call open and this instance no longer runs it. Its own orphan check must not
    take it for a dead instance's call: the agent would get a second ``call.ended``
    (``instance_lost``) and the record a wrong end reason."""
    import time

    import app.main

    monkeypatch.setattr(app.main, "ORPHAN_CHECK_S", 0.05)
    url = _redis_url()
    prefix = f"carecue-test-{uuid.uuid4().hex[:10]}"
    db = f"sqlite:///{tmp_path / 'store.db'}"
    server = _instance(tmp_path, url, db, prefix)
    try:
        server.start()
        _slow_writes(server, 0.5)  # the call stays open in the database a while
        _scared_call(ingest=server, agent=server)
        time.sleep(1.5)  # many orphan checks while call.ended is still being written
        with server.ws("/v1/supervisor/events?since=0", tok("supervisor")) as sup:
            replay = read_until(sup, lambda e: e["type"] == "call.ended")
            with pytest.raises(TimeoutError):  # and nothing after it
                replay.append(recv_json(sup, timeout=1.0))
        ended = [e for e in replay if e["type"] == "call.ended"]
        assert [(e["call_id"], e["data"]["reason"]) for e in ended] == [("CA1", "stop")]
        detail = server.get("/v1/calls/CA1", tok("supervisor")).json()
        assert detail["end_reason"] == "stop"
    finally:
        server.stop()
        _forget(url, prefix)


def _store_open_call(db: str, call_id: str, agent_id: str) -> None:
    """A call a dead instance started: in the store, open, and nobody holds it any more."""
    import asyncio

    from app.bus import make_envelope, now_iso
    from app.store import EnvelopeOp, Store

    async def put() -> None:
        store = Store(db)
        await store.start()
        data = {"call_id": call_id, "agent_id": agent_id, "source": "twilio",
                "started_at": now_iso(), "tracks": ["caller", "agent"]}
        env = make_envelope(10**9, "call.started", call_id, data, now_iso())
        await store.enqueue(EnvelopeOp(env, agent_id, True))
        await store.flush()
        await store.close()

    asyncio.run(put())


def test_a_starting_instance_ends_only_calls_no_live_instance_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Instance B starting (or restarting) next to A must not end A's live call; a call whose
    instance died is ended once (reason ``instance_lost`` or ``server_restart``)."""
    import time

    import app.main

    monkeypatch.setattr(app.main, "ORPHAN_CHECK_S", 0.2)
    url = _redis_url()
    prefix = f"carecue-test-{uuid.uuid4().hex[:10]}"
    with database_url("postgresql", tmp_path) as db:
        servers: list[Live] = []

        def start(name: str) -> Live:
            server = _instance(tmp_path / name, url, db, prefix)
            server.start()
            servers.append(server)
            return server

        try:
            a = start("a")
            with a.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent, \
                    a.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send(twilio_start("CA-live", "A1"))
                tw.send(twilio_media(b"hello"))
                got = read_until(agent, lambda e: e["type"] == "transcript.final")
                _store_open_call(db, "CA-dead", "A9")
                b = start("b")  # its start-up clean-up runs now; its reaper every 0.2 s
                with b.ws("/v1/supervisor/events?since=0", tok("supervisor")) as sup:
                    read_until(sup, lambda e: e["type"] == "call.ended"
                               and e["call_id"] == "CA-dead")
                time.sleep(1.0)  # several reaper rounds on both instances
                tw.send(twilio_media(b"still here"))
                got += read_until(agent, lambda e: e["type"] == "transcript.final"
                                  and e["data"]["text"] == "still here")
            assert not [e for e in got if e["type"] == "call.ended"]
            with b.ws("/v1/supervisor/events?since=0", tok("supervisor")) as sup:
                replay = read_until(sup, lambda e: e["type"] == "call.ended"
                                    and e["call_id"] == "CA-live")
            ended = [e for e in replay if e["type"] == "call.ended"]
            assert [e["call_id"] for e in ended] == ["CA-dead", "CA-live"]  # each once
            assert ended[0]["data"]["reason"] in ("server_restart", "instance_lost")
            assert ended[1]["data"]["reason"] != "server_restart"
        finally:
            for server in servers:
                server.stop()
            _forget(url, prefix)
