"""Two service instances behind one Redis bus and one database: a call ingested on one
instance reaches an agent connected to the other, in order, with replay."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from app.main import create_app
from tests.app.fakes import fake_components
from tests.app.service_helpers import (
    Live,
    make_settings,
    read_until,
    tok,
    twilio_media,
    twilio_start,
    twilio_stop,
)


def test_call_on_one_instance_reaches_agent_on_the_other(tmp_path: Path) -> None:
    url = os.environ.get("CARECUE_TEST_REDIS_URL")
    if not url:
        pytest.skip("CARECUE_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    prefix = f"carecue-test-{uuid.uuid4().hex[:10]}"
    servers = []
    try:
        for _ in range(2):
            settings = make_settings(tmp_path, redis_url=url)  # same data dir: one database
            app = create_app(settings, components_factory=fake_components(), bus_prefix=prefix)
            server = Live(app)
            server.start()
            servers.append(server)
        a, b = servers
        with b.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent:
            with a.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send(twilio_start("CA1", "A1"))
                tw.send(twilio_media(b"hello"))
                tw.send(twilio_media(b"I'm terrified"))
                tw.send(twilio_stop("CA1"))
            got = read_until(agent, lambda e: e["type"] == "call.ended")
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
        import redis

        r = redis.Redis.from_url(url)
        r.delete(f"{prefix}:seq", f"{prefix}:events")
        r.close()
