"""Speak a call into a running CareCue server, the way a telephony platform would.

``carecue simulate`` and ``carecue demo`` (and the end-to-end tests and bench) use this package:
a ``CallAudio`` (two 8 kHz mu-law tracks plus turn timings) is streamed at real-time pace,
times ``speed``, over one of the ingest protocols.

Protocol clients are registered by name in ``PROTOCOLS`` as ``"module:function"`` strings, so
each lives in its own module and is only imported when used. A client has this signature::

    async def stream_call(call: CallAudio, options: StreamOptions) -> StreamResult

It must:

- connect to ``ingest_url(options.url, <its path>, options.token)`` (token as the ``token``
  query parameter, since telephony platforms cannot set headers);
- announce the call with ``options.call_id`` and ``options.agent_id`` in the protocol's own way;
- send ``call.caller`` and ``call.agent`` in ``options.chunk_ms`` chunks, pacing chunk ``i``
  to ``t0 + i * chunk_ms / 1000 / options.speed`` (``pace_until`` does this), where ``t0`` is
  ``time.monotonic()`` when the first audio left, returned as ``StreamResult.audio_t0``;
- end the call properly and wait (up to ``options.close_timeout_s``) for the server to close;
- return what the server said (``StreamResult.received``) and how it closed, and raise
  ``SimulateError`` when the connection is refused or closed with an error before the end.
"""

from __future__ import annotations

import asyncio
import importlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.simulate.audio import CallAudio, SpokenTurn, load_wav_call

__all__ = [
    "PROTOCOLS",
    "CallAudio",
    "SimulateError",
    "SpokenTurn",
    "StreamOptions",
    "StreamResult",
    "closed_error",
    "connect_ingest",
    "ingest_url",
    "load_wav_call",
    "load_call",
    "pace_until",
    "stream_call",
]

StreamClient = Callable[["CallAudio", "StreamOptions"], Awaitable["StreamResult"]]

# name -> "module:function"; new protocols add one line here and one module beside twilio.py.
PROTOCOLS: dict[str, str] = {
    "twilio": "app.simulate.twilio:stream_call",
    "audiohook": "app.simulate.audiohook:stream_call",
    "audiosocket": "app.simulate.audiosocket:stream_call",
    "fork": "app.simulate.fork:stream_call",
    "native": "app.simulate.native:stream_call",
}


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


def get_client(protocol: str) -> StreamClient:
    try:
        target = PROTOCOLS[protocol]
    except KeyError:
        known = ", ".join(sorted(PROTOCOLS))
        raise ValueError(f"unknown protocol {protocol!r} (known: {known})") from None
    module_name, func_name = target.split(":")
    client: StreamClient = getattr(importlib.import_module(module_name), func_name)
    return client


async def stream_call(
    call: CallAudio, options: StreamOptions, protocol: str = "twilio"
) -> StreamResult:
    """Stream ``call`` into the server with the named protocol client."""
    return await get_client(protocol)(call, options)


def load_call(path: str | Path) -> CallAudio:
    """A stereo WAV as it is, or a YAML call script (``app.speech_synth.CallScript``) rendered
    to speech: Kokoro voices where installed, espeak-ng otherwise (seconds per turn on CPU)."""
    path = Path(path)
    if path.suffix.lower() == ".wav":
        return load_wav_call(path)
    from app.simulate.script import render_script_file

    return render_script_file(path)
