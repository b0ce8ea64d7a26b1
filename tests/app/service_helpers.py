"""Helpers for the service tests: an app on fakes, tokens, Twilio message builders."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.testclient import TestClient
from websockets.sync.client import ClientConnection, connect

from app.auth import TokenSigner
from app.main import CareCueServer, create_app
from app.settings import Settings
from tests.app.fakes import fake_components

SECRET = "test-secret-0123456789abcdef"

T = TypeVar("T")


def tok(role: str, agent_id: str | None = None) -> str:
    return TokenSigner(SECRET).create(role, agent_id=agent_id)  # type: ignore[arg-type]


def make_settings(tmp: Path, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp,
        "auth_secret": SECRET,
        "database_url": None,
        "redis_url": None,
        "tick_interval_s": 0.05,
        **over,
    }
    return Settings(**values)


@contextmanager
def service(tmp: Path, components: Any = None, **over: Any) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp, **over), components_factory=components or fake_components())
    with TestClient(app) as client:
        yield client


class Live:
    """A real uvicorn server in a thread, talking to tests over TCP."""

    def __init__(self, app: Any) -> None:
        import socket
        import threading

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.app = app
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on"
        )
        self.server = CareCueServer(config, app)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, ready_timeout: float = 600.0) -> None:
        import time

        self.thread.start()
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.http}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("service did not become ready")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(60)

    def get(self, path: str, token: str) -> httpx.Response:
        return httpx.get(
            f"{self.http}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    def ws(self, path: str, token: str | None = None) -> ClientConnection:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return connect(
            f"{self.ws_base}{path}", additional_headers=headers, open_timeout=30, max_size=None
        )


@contextmanager
def serving(app: Any, ready_timeout: float = 600.0) -> Iterator[Live]:
    """``app`` served by a ``Live`` server until the block ends."""
    server = Live(app)
    server.start(ready_timeout)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def live(tmp: Path, components: Any = None, **over: Any) -> Iterator[Live]:
    app = create_app(make_settings(tmp, **over), components_factory=components or fake_components())
    with serving(app) as server:
        yield server


def recv_json(ws: ClientConnection, timeout: float = 60.0) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))  # type: ignore[no-any-return]


def twilio_start(call_sid: str, agent_id: str, stream_sid: str = "MZ1", **params: str) -> str:
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": stream_sid,
            "start": {
                "accountSid": "AC1",
                "streamSid": stream_sid,
                "callSid": call_sid,
                "tracks": ["inbound", "outbound"],
                "customParameters": {"agent_id": agent_id, **params},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        }
    )


def twilio_media(
    payload: bytes, track: str = "inbound", stream_sid: str = "MZ1", ts: int = 0
) -> str:
    return json.dumps(
        {
            "event": "media",
            "streamSid": stream_sid,
            "media": {
                "track": track,
                "chunk": "1",
                "timestamp": str(ts),
                "payload": base64.b64encode(payload).decode(),
            },
        }
    )


def twilio_stop(call_sid: str, stream_sid: str = "MZ1") -> str:
    return json.dumps(
        {
            "event": "stop",
            "streamSid": stream_sid,
            "stop": {"accountSid": "AC1", "callSid": call_sid},
        }
    )


def eventually(get: Callable[[], T], ok: Callable[[T], bool], timeout_s: float = 30.0) -> T:
    """``get()`` again until ``ok`` holds or ``timeout_s`` passes; returns the last value, for
    the caller's own assertion. For what the service does behind an answer it already sent
    (the store writes behind the call; a client's close returns before the server has read
    the frames before it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = get()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def read_until(ws: Any, pred: Any, limit: int = 200) -> list[dict[str, Any]]:
    """Receive envelopes until ``pred(env)`` is true; returns all received (inclusive)."""
    got: list[dict[str, Any]] = []
    for _ in range(limit):
        env = recv_json(ws) if isinstance(ws, ClientConnection) else ws.receive_json()
        got.append(env)
        if pred(env):
            return got
    raise AssertionError(f"condition not met in {limit} messages: {[e['type'] for e in got]}")
