"""A real ``carecue serve`` killed with SIGKILL mid-call, then started again on the same data.

After the restart the agent must learn that the cut call ended (``call.ended``, reason
``server_restart``), and no seq may be issued twice: the agent's ``since`` from before the
crash must neither skip nor repeat events.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from app.contract import EVENT_MODELS
from tests.app.service_helpers import SECRET, tok

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(data_dir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "CARECUE_DATA_DIR": str(data_dir),
        "CARECUE_PORT": str(port),
        "CARECUE_AUTH_SECRET": SECRET,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CARECUE_DATABASE_URL", None)
    env.pop("CARECUE_REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise AssertionError(f"carecue serve exited with {proc.returncode}")
            time.sleep(0.5)
        else:
            raise AssertionError("carecue serve did not become ready")
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _recv(ws: ClientConnection, timeout: float = 30) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def _until(ws: ClientConnection, pred: Any, timeout: float = 60) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        e = _recv(ws, max(0.1, deadline - time.monotonic()))
        got.append(e)
        if pred(e):
            return got
    raise AssertionError(f"not seen; got {[e['type'] for e in got]}")


def test_sigkill_mid_call_ends_the_call_after_restart_and_never_repeats_a_seq(
    tmp_path: Path,
) -> None:
    port = _free_port()
    ws_base = f"ws://127.0.0.1:{port}"
    start = {
        "type": "start",
        "call_id": "CA-killed",
        "agent_id": "A1",
        "encoding": "pcm_s16le",
        "sample_rate": 8000,
        "channels": 1,
        "tracks": ["caller"],
    }
    with serve(tmp_path, port) as proc:
        agent = connect(f"{ws_base}/v1/agents/A1/events?token={tok('agent', 'A1')}").__enter__()
        ingest = connect(f"{ws_base}/v1/ingest/stream?token={tok('ingest')}").__enter__()
        ingest.send(json.dumps(start))
        assert _recv(ingest)["type"] == "started"
        ingest.send(b"\x00\x00" * 1600)
        seen = _until(agent, lambda e: e["type"] == "call.started")
        # the call's row has reached the store (events published after it may not have)
        deadline = time.monotonic() + 30
        while httpx.get(
            f"http://127.0.0.1:{port}/v1/calls/CA-killed",
            headers={"Authorization": f"Bearer {tok('supervisor')}"},
        ).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        for ws in (agent, ingest):
            try:
                ws.close()
            except Exception:
                pass
    last_seen = max(e["seq"] for e in seen)

    with serve(tmp_path, port):
        with connect(
            f"{ws_base}/v1/agents/A1/events?since={last_seen}&token={tok('agent', 'A1')}"
        ) as agent:
            ended = _until(
                agent, lambda e: e["type"] == "call.ended" and e["call_id"] == "CA-killed"
            )[-1]
            assert ended["data"]["reason"] == "server_restart"
            EVENT_MODELS["call.ended"].model_validate(ended)  # the contract's full shape
            assert ended["seq"] > last_seen
            with connect(f"{ws_base}/v1/ingest/stream?token={tok('ingest')}") as ingest:
                ingest.send(json.dumps({**start, "call_id": "CA-after"}))
                assert _recv(ingest)["type"] == "started"
                ingest.send(json.dumps({"type": "stop"}))
                new = _until(
                    agent, lambda e: e["type"] == "call.ended" and e["call_id"] == "CA-after"
                )
        assert min(e["seq"] for e in new) > last_seen
        detail = httpx.get(
            f"http://127.0.0.1:{port}/v1/calls/CA-killed",
            headers={"Authorization": f"Bearer {tok('supervisor')}"},
        ).json()
        assert detail["end_reason"] == "server_restart" and detail["ended_at"]
