"""Speak a call into a running CareCue server, the way a telephony platform would.

``carecue simulate`` and ``carecue demo`` (and the end-to-end tests and bench) use this package:
a ``CallAudio`` (two 8 kHz mu-law tracks plus turn timings) is streamed at real-time pace,
times ``speed``, over one of the ingest protocols.

Protocol clients are registered by name in ``PROTOCOLS``; each lives in its own module beside
``twilio.py`` and shares ``carecue_sim.client``. A client has this signature::

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

from collections.abc import Awaitable, Callable
from pathlib import Path

from carecue_sim import audiohook, audiosocket, fork, native, twilio
from carecue_sim.audio import CallAudio, SpokenTurn, load_wav_call
from carecue_sim.client import (
    SimulateError,
    StreamOptions,
    StreamResult,
    closed_error,
    connect_ingest,
    ingest_url,
    pace_until,
)

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

StreamClient = Callable[[CallAudio, StreamOptions], Awaitable[StreamResult]]

# A new protocol adds one line here and one module beside twilio.py.
PROTOCOLS: dict[str, StreamClient] = {
    "twilio": twilio.stream_call,
    "audiohook": audiohook.stream_call,
    "audiosocket": audiosocket.stream_call,
    "fork": fork.stream_call,
    "native": native.stream_call,
}


def get_client(protocol: str) -> StreamClient:
    """The client of the named protocol; an unknown name is a ``ValueError`` listing the known."""
    try:
        target = PROTOCOLS[protocol]
    except KeyError:
        known = ", ".join(sorted(PROTOCOLS))
        raise ValueError(f"unknown protocol {protocol!r} (known: {known})") from None
    return target


async def stream_call(
    call: CallAudio, options: StreamOptions, protocol: str = "twilio"
) -> StreamResult:
    """Stream ``call`` into the server with the named protocol client."""
    return await get_client(protocol)(call, options)


def load_call(path: str | Path) -> CallAudio:
    """A stereo WAV as it is, or a YAML call script (``carecue_sim.speech_synth.CallScript``)
    rendered to speech: Kokoro voices where installed, espeak-ng otherwise (seconds per turn on
    CPU)."""
    path = Path(path)
    if path.suffix.lower() == ".wav":
        return load_wav_call(path)
    from carecue_sim.script import render_script_file

    return render_script_file(path)
