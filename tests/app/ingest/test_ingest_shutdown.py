"""Shutdown drains every adapter before the server closes sockets: AudioHook gets
``reconnect``, native/fork/Twilio streams are stopped the way their protocol allows and closed
1001, and their calls end as ``shutdown`` (not as dropped connections)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from app.ingest.settings import AdapterSettings
from app.main import create_app
from app.store import Store
from carecue_sim.audiohook import AudioHookClientState, interleave, open_parameters
from tests.app.fakes import fake_components
from tests.app.service_helpers import (
    Live,
    eventually,
    make_settings,
    recv_json,
    tok,
    twilio_media,
    twilio_start,
)

ORG = "d7934305-0972-4844-938e-9060eef73d05"
API_KEY = "drain-test-key"


def _closed_with(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as exc:
        while True:
            ws.recv(timeout=20)
    return exc.value.rcvd.code if exc.value.rcvd is not None else None


def _audiohook(stack: ExitStack, url: str, state: AudioHookClientState,
               conversation: str) -> ClientConnection:
    headers = {"Audiohook-Organization-Id": ORG, "Audiohook-Session-Id": state.session_id,
               "Audiohook-Correlation-Id": str(uuid.uuid4()), "X-API-KEY": API_KEY}
    ws = stack.enter_context(connect(url, additional_headers=headers, open_timeout=30))
    ws.send(json.dumps(state.message("open", open_parameters(ORG, conversation, "A-ah"))))
    opened = json.loads(ws.recv(timeout=30))
    state.saw(opened)
    assert opened["type"] == "opened"
    ws.send(interleave(bytes(160), bytes(160)))
    state.samples_sent += 160
    return ws


def test_stop_drains_every_adapter_before_sockets_close(tmp_path: Path) -> None:
    adapters = AdapterSettings(audiohook_api_keys={API_KEY: ""}, ingest_drain_s=5)
    settings = make_settings(tmp_path, adapters=adapters)
    app = create_app(settings, components_factory=fake_components())
    server = Live(app)
    server.start()
    conversation = str(uuid.uuid4())
    state = AudioHookClientState()
    stopper = threading.Thread(target=server.stop)  # what SIGTERM does: should_exit
    with ExitStack() as stack:
        ah = _audiohook(stack, f"{server.ws_base}/v1/ingest/audiohook", state, conversation)
        native = stack.enter_context(server.ws("/v1/ingest/stream", tok("ingest")))
        native.send(json.dumps({"type": "start", "call_id": "N-drain", "agent_id": "A1"}))
        assert recv_json(native)["type"] == "started"
        fork = stack.enter_context(
            connect(f"{server.ws_base}/v1/ingest/fork?token={tok('ingest')}", open_timeout=30))
        fork.send(json.dumps({"call_id": "F-drain", "agent_id": "A1", "sample_rate": 8000,
                              "channels": 1}))
        assert recv_json(fork)["data"]["type"] == "started"
        twilio = stack.enter_context(server.ws("/v1/ingest/twilio", tok("ingest")))
        twilio.send(twilio_start("CA-drain", "A1", stream_sid="MZd"))
        twilio.send(twilio_media(b"hello there", stream_sid="MZd"))
        fork.send(bytes(320))
        # Twilio gets no reply to start: the call is open when this instance holds it
        calls = server.app.state.calls
        assert eventually(lambda: calls.get("CA-drain"), lambda c: c is not None) is not None

        stopper.start()
        try:
            reconnect = json.loads(ah.recv(timeout=20))
            state.saw(reconnect)
            assert reconnect["type"] == "reconnect"
            ah.send(json.dumps(state.message("close", {"reason": "reconnect"})))
            assert json.loads(ah.recv(timeout=20))["type"] == "closed"
            assert recv_json(native, 20) == {"type": "stopped", "call_id": "N-drain",
                                             "reason": "shutdown"}
            assert _closed_with(native) == 1001
            assert recv_json(fork, 20) == {"type": "disconnect"}
            assert _closed_with(fork) == 1001
            assert _closed_with(twilio) == 1001
        finally:
            stopper.join(60)
    repo = Store(settings.resolved_database_url()).repo
    for call_id in ("N-drain", "F-drain", "CA-drain"):
        call = repo.get_call(call_id)
        assert call is not None and call["end_reason"] == "shutdown", (call_id, call)


@pytest.mark.slow
def test_sigterm_to_carecue_serve_sends_reconnect_mid_call(tmp_path: Path) -> None:
    """A real ``carecue serve`` process, a Genesys session mid-call, then SIGTERM."""
    from carecue_sim.demo import free_port

    port = free_port()
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[3]),
                                          os.environ.get("PYTHONPATH", "")]),
           "CARECUE_PORT": str(port), "CARECUE_HOST": "127.0.0.1",
           "CARECUE_DATA_DIR": str(tmp_path), "CARECUE_AUTH_SECRET": "sigterm-" + "s" * 24,
           "CARECUE_AUDIOHOOK_API_KEYS": json.dumps({API_KEY: ""}),
           "CARECUE_LOG_JSON": "false"}
    log_path = tmp_path / "serve.log"
    log_file = log_path.open("wb")  # a file, not a pipe nobody reads (a full pipe blocks)
    proc = subprocess.Popen([sys.executable, "-c", "from app.cli import main; main()", "serve"],
                            env=env, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text(errors="replace")[-4000:]
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        conversation = str(uuid.uuid4())
        state = AudioHookClientState()
        with ExitStack() as stack:
            ws = _audiohook(stack, f"ws://127.0.0.1:{port}/v1/ingest/audiohook", state,
                            conversation)
            for _ in range(50):
                ws.send(interleave(bytes([0xFF]) * 160, bytes([0xFF]) * 160))
                state.samples_sent += 160
            proc.send_signal(signal.SIGTERM)
            reconnect: dict[str, Any] = json.loads(ws.recv(timeout=30))
            state.saw(reconnect)
            assert reconnect["type"] == "reconnect", reconnect
            ws.send(json.dumps(state.message("close", {"reason": "reconnect"})))
            assert json.loads(ws.recv(timeout=30))["type"] == "closed"
        # uvicorn re-raises the signal it caught once its shutdown is done.
        assert proc.wait(60) in (0, -signal.SIGTERM)
        assert "Traceback" not in log_path.read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log_file.close()
