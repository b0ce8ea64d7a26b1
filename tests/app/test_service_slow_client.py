"""A screen that stops reading: its queue fills, it is closed with 1013 and can resume with
``since``; ingest and a second screen on the same call are not held up meanwhile."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.app.raw_ws import FrozenClient
from tests.app.service_helpers import (
    live,
    read_until,
    tok,
    twilio_media,
    twilio_start,
    twilio_stop,
)

N = 1500


def test_stalled_screen_is_closed_and_resumes_without_loss(tmp_path: Path) -> None:
    with live(tmp_path, client_queue_size=10) as s:
        stalled = FrozenClient(f"{s.ws_base}/v1/agents/A1/events", tok("agent", "A1"))
        fast_ws = s.ws("/v1/agents/A1/events", tok("agent", "A1"))
        with fast_ws as fast, ThreadPoolExecutor(1) as pool:
            # The other screen on the same call reads all along and gets everything while one
            # screen is frozen.
            reading = pool.submit(read_until, fast, lambda e: e["type"] == "call.ended", 10 * N)
            with s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send(twilio_start("CA1", "A1"))
                for i in range(N):
                    # Long utterances fill the frozen socket's buffers sooner.
                    tw.send(twilio_media(f"utterance {i} ".encode() + b"x" * 4000))
                tw.send(twilio_stop("CA1"))
            got_fast = reading.result(timeout=300)
        seen = stalled.read_all()
        assert stalled.close_code == 1013
        error = seen.pop()
        assert error["type"] == "error" and error["code"] == "too_slow"
        resume = int(error["message"].rsplit("since=", 1)[1])
        assert resume == seen[-1]["seq"]
        with s.ws(f"/v1/agents/A1/events?since={resume}", tok("agent", "A1")) as again:
            rest = read_until(again, lambda e: e["type"] == "call.ended", limit=10 * N)
        m = httpx.get(f"{s.http}/metrics", params={"token": tok("supervisor")}).text
    assert "carecue_clients_closed_slow_total 1.0" in m
    durable = [e["seq"] for e in got_fast if e["type"] != "transcript.partial"]
    stalled_view = [e["seq"] for e in seen + rest if e["type"] != "transcript.partial"]
    # Signals may be coalesced for the frozen screen; finals and call events all arrive.
    must = {
        e["seq"]
        for e in got_fast
        if e["type"] in ("transcript.final", "call.started", "call.ended", "nudge.created")
    }
    assert must <= set(stalled_view)
    assert stalled_view == sorted(set(stalled_view)) and set(stalled_view) <= set(durable)
    finals = [e["data"]["text"] for e in seen + rest if e["type"] == "transcript.final"]
    assert len(finals) == N


def _closed_slow(s: object) -> float:
    text = httpx.get(f"{s.http}/metrics", params={"token": tok("supervisor")}).text  # type: ignore[attr-defined]
    line = next(x for x in text.splitlines() if x.startswith("carecue_clients_closed_slow_total"))
    return float(line.split()[-1])


def test_a_screen_that_stops_reading_is_closed_too_slow_before_the_keepalive(
    tmp_path: Path,
) -> None:
    """Issue 15: with a queue too big to overflow soon, a socket that stopped reading was left
    to the websocket keepalive (1011, ~40 s) and never counted. Its stalled send now gives up
    after ``client_send_timeout_s``: counted at once, and closed 1013 ``too_slow`` with the
    ``since`` to resume from as soon as the socket can take it."""
    import time

    n = 600
    with live(tmp_path, client_queue_size=20_000, client_send_timeout_s=1.0) as s:
        stalled = FrozenClient(f"{s.ws_base}/v1/agents/A1/events", tok("agent", "A1"))
        fast_ws = s.ws("/v1/agents/A1/events", tok("agent", "A1"))
        with fast_ws as fast, ThreadPoolExecutor(1) as pool:
            reading = pool.submit(read_until, fast, lambda e: e["type"] == "call.ended", 10 * n)
            with s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
                tw.send(twilio_start("CA2", "A1"))
                for i in range(n):
                    tw.send(twilio_media(f"utterance {i} ".encode() + b"x" * 4000))
                tw.send(twilio_stop("CA2"))
            got_fast = reading.result(timeout=300)
        for _ in range(300):  # the stall is noticed while the client still reads nothing
            if _closed_slow(s) >= 1:
                break
            time.sleep(0.1)
        assert _closed_slow(s) == 1.0
        seen = stalled.read_all()
        assert stalled.close_code == 1013
        error = seen.pop()
        assert error["type"] == "error" and error["code"] == "too_slow"
        resume = int(error["message"].rsplit("since=", 1)[1])
        assert resume == (seen[-1]["seq"] if seen else 0)
        with s.ws(f"/v1/agents/A1/events?since={resume}", tok("agent", "A1")) as again:
            rest = read_until(again, lambda e: e["type"] == "call.ended", limit=10 * n)
    finals = [e["data"]["text"] for e in seen + rest if e["type"] == "transcript.final"]
    assert len(finals) == n
    assert len([e for e in got_fast if e["type"] == "transcript.final"]) == n
