"""Long replays: not limited by the live queue's size; past ``replay_limit`` the socket closes
with 1013 after the part it sent, and resuming with ``since`` gets the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.app.service_helpers import (
    live,
    read_until,
    recv_json,
    tok,
    twilio_media,
    twilio_start,
    twilio_stop,
)


def _make_long_call(s: Any, n: int) -> None:
    with s.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent:
        with s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
            tw.send(twilio_start("CA1", "A1"))
            for i in range(n):
                tw.send(twilio_media(f"utterance {i}".encode()))
            tw.send(twilio_stop("CA1"))
        read_until(agent, lambda e: e["type"] == "call.ended", limit=10 * n)


def _read_all(ws: Any) -> tuple[list[dict[str, Any]], int | None, dict[str, Any] | None]:
    got: list[dict[str, Any]] = []
    error = None
    while True:
        try:
            env = recv_json(ws, timeout=10)
        except ConnectionClosed as exc:
            return got, exc.rcvd.code if exc.rcvd else None, error
        except TimeoutError:
            return got, None, error
        if env["type"] == "error":
            error = env
        else:
            got.append(env)


def test_replay_larger_than_the_client_queue(tmp_path: Path) -> None:
    with live(tmp_path, client_queue_size=10) as s:
        _make_long_call(s, 40)
        with s.ws("/v1/agents/A1/events?since=0", tok("agent", "A1")) as ws:
            got = read_until(ws, lambda e: e["type"] == "call.ended", limit=500)
    finals = [e for e in got if e["type"] == "transcript.final"]
    assert [f["data"]["text"] for f in finals] == [f"utterance {i}" for i in range(40)]


def test_replay_past_the_limit_resumes(tmp_path: Path) -> None:
    with live(tmp_path, replay_limit=100) as s:
        _make_long_call(s, 70)  # 70 finals + 70 signals + start/end: over 100
        with s.ws("/v1/agents/A1/events?since=0", tok("agent", "A1")) as ws:
            first, code, error = _read_all(ws)
        assert code == 1013 and error is not None and error["code"] == "too_slow"
        assert len(first) == 100
        since = first[-1]["seq"]
        assert f"since={since}" in error["message"]
        with s.ws(f"/v1/agents/A1/events?since={since}", tok("agent", "A1")) as ws:
            rest = read_until(ws, lambda e: e["type"] == "call.ended", limit=500)
    seqs = [e["seq"] for e in first + rest]
    assert seqs == sorted(set(seqs))
    texts = [e["data"]["text"] for e in first + rest if e["type"] == "transcript.final"]
    assert texts == [f"utterance {i}" for i in range(70)]


@pytest.mark.parametrize("since", ["-1", "abc"])
def test_bad_since_is_refused(tmp_path: Path, since: str) -> None:
    with live(tmp_path) as s:
        with s.ws(f"/v1/supervisor/events?since={since}", tok("supervisor")) as ws:
            err = recv_json(ws)
            assert err["code"] == "bad_since"
            with pytest.raises(ConnectionClosed) as exc:
                ws.recv(timeout=10)
            assert exc.value.rcvd is not None and exc.value.rcvd.code == 1008


def test_transcript_text_is_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Health information stays out of the logs (ids, sizes and timings only)."""
    from app.logging_setup import JsonFormatter

    secret_words = "my oncologist said stage three"
    caplog.set_level("DEBUG")
    with live(tmp_path) as s:
        with s.ws("/v1/agents/A1/events", tok("agent", "A1")) as agent:
            with s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send(twilio_start("CA1", "A1"))
                tw.send(twilio_media(secret_words.encode()))
                tw.send(twilio_media(b"I'm terrified"))
                tw.send(twilio_stop("CA1"))
            got = read_until(agent, lambda e: e["type"] == "call.ended")
    assert any(e["data"].get("text") == secret_words for e in got)
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    assert any('"call_id": "CA1"' in line for line in lines)  # the logs do say what happened
    for line in lines:
        json.loads(line)
        assert "oncologist" not in line and "terrified" not in line


def test_tokens_in_request_lines_are_redacted() -> None:
    import logging

    from app.logging_setup import JsonFormatter

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "GET %s HTTP/1.1" %d',
        ("127.0.0.1", "/agent?token=cc1.abc.def&x=1", 200),
        None,
    )
    line = json.loads(JsonFormatter().format(record))
    assert "cc1.abc" not in line["msg"] and "token=[redacted]&x=1" in line["msg"]


@pytest.mark.parametrize("name", ["TOKEN", "%74oken", "%54%4F%4B%45%4E", "Token"])
def test_tokens_are_redacted_whatever_the_spelling_and_in_plain_logs(name: str) -> None:
    import logging

    from app.logging_setup import JsonFormatter, RedactingFormatter

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, "GET %s", (f"/agent?{name}=cc1.abc.def",), None
    )
    assert "cc1.abc" not in JsonFormatter().format(record)
    assert "cc1.abc" not in RedactingFormatter("%(message)s").format(record)


def test_a_failed_database_write_does_not_carry_the_words_in_its_error(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from app.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1, 'x')"))
    with pytest.raises(sa.exc.IntegrityError) as info, engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (1, :b)"), {"b": "I want to end my life"})
    assert "end my life" not in str(info.value)
