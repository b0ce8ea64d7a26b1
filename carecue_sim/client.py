"""What every protocol client in ``carecue_sim`` shares: options, result, URL, pacing, errors."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


class SimulateError(Exception):
    """The server refused or broke the simulated call (close code and reason when known)."""

    def __init__(self, message: str, close_code: int | None = None) -> None:
        super().__init__(message)
        self.close_code = close_code


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Where and how to stream. ``url`` is the server base (``http://host:port``) or a ws URL."""

    url: str
    token: str
    agent_id: str = "A1"
    call_id: str = field(default_factory=lambda: "CA" + uuid.uuid4().hex)
    speed: float = 1.0
    chunk_ms: int = 20
    close_timeout_s: float = 30.0
    custom: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class StreamResult:
    """What happened: when audio time 0 left (monotonic), chunks sent, server messages, close."""

    call_id: str
    audio_t0: float
    chunks_sent: int
    audio_s: float
    received: list[Any] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""

    def wall_time_of(self, audio_s: float, speed: float = 1.0) -> float:
        """Monotonic time at which audio position ``audio_s`` was sent (pacing is exact)."""
        return self.audio_t0 + audio_s / speed


def ingest_url(base: str, path: str, token: str, **params: str) -> str:
    """The websocket URL of an ingest endpoint: http(s) becomes ws(s); a given path is kept."""
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ValueError(f"unsupported URL scheme in {base!r}")
    full_path = parts.path if parts.path not in ("", "/") else path
    query = urlencode({**params, "token": token})
    return urlunsplit((scheme, parts.netloc, full_path, query, ""))


async def connect_ingest(
    url: str, base: str, headers: dict[str, str] | None = None
) -> ClientConnection:
    """Open an ingest websocket; a refusal or an unreachable ``base`` is a ``SimulateError``."""
    try:
        return await connect(url, additional_headers=headers, max_size=2**20, open_timeout=15,
                             close_timeout=5)
    except InvalidStatus as exc:
        raise SimulateError(f"server refused the stream: HTTP {exc.response.status_code}") from exc
    except OSError as exc:
        raise SimulateError(f"cannot connect to {base}: {exc}") from exc


def closed_error(exc: ConnectionClosed, sent: int) -> SimulateError:
    """The error for a server that closed the stream after ``sent`` chunks, before the end."""
    code = exc.rcvd.code if exc.rcvd else None
    reason = exc.rcvd.reason if exc.rcvd else ""
    return SimulateError(f"server closed the stream after {sent} chunks: {code} {reason}", code)


async def pace_until(t0: float, index: int, chunk_s: float, speed: float) -> None:
    """Sleep until chunk ``index`` is due; a late sender catches up without sleeping."""
    delay = t0 + index * chunk_s / speed - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
