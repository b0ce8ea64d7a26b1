"""Genesys Cloud AudioHook v2, as Genesys itself connects, for simulated calls.

The upgrade request carries ``Audiohook-Organization-Id``, ``Audiohook-Session-Id``,
``Audiohook-Correlation-Id`` and ``X-API-KEY``, signed (RFC 9421, HMAC-SHA256) when a client
secret is given (``options.custom["client_secret"]`` or ``CARECUE_SIM_AUDIOHOOK_CLIENT_SECRET``;
base64, as Genesys shows it). The API key is ``options.custom["api_key"]`` or
``CARECUE_SIM_AUDIOHOOK_API_KEY``, else the CareCue token. Then: ``open`` (offering stereo
PCMU and L16, ``customConfig.agent_id``), ``opened``, a ``ping`` every 5 s, binary frames of
interleaved PCMU (channel ``external`` = caller, ``internal`` = agent) per ``chunk_ms``,
``close`` with reason ``end``, and ``closed``. Every client message carries ``seq``,
``serverseq`` and ``position`` as the protocol requires.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed

from app.ingest.audiohook_protocol import format_duration
from app.ingest.httpsig import sign_request
from carecue_sim.audio import CallAudio
from carecue_sim.client import (
    SimulateError,
    StreamOptions,
    StreamResult,
    connect_ingest,
    ingest_url,
    pace_until,
)

PATH = "/v1/ingest/audiohook"
OFFERED_MEDIA = [
    {"type": "audio", "format": "PCMU", "channels": ["external", "internal"], "rate": 8000},
    {"type": "audio", "format": "L16", "channels": ["external", "internal"], "rate": 8000},
    {"type": "audio", "format": "PCMU", "channels": ["external"], "rate": 8000},
]
PING_EVERY_S = 5.0


@dataclass
class AudioHookClientState:
    """Client side bookkeeping: message ids and the stream position, no IO."""

    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    seq: int = 0
    serverseq: int = 0
    samples_sent: int = 0
    gaps_s: float = 0.0

    @property
    def position_s(self) -> float:
        return self.samples_sent / 8000 + self.gaps_s

    def message(self, type_: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        """The next client message, numbered and positioned."""
        self.seq += 1
        return {
            "version": "2",
            "id": self.session_id,
            "type": type_,
            "seq": self.seq,
            "serverseq": self.serverseq,
            "position": format_duration(self.position_s),
            "parameters": parameters or {},
        }

    def saw(self, server_message: dict[str, Any]) -> None:
        """Track the last server seq (what ``serverseq`` reports)."""
        seq = server_message.get("seq")
        if isinstance(seq, int):
            self.serverseq = max(self.serverseq, seq)


def upgrade_headers(
    url: str,
    organization_id: str,
    session_id: str,
    api_key: str,
    client_secret_b64: str | None = None,
    correlation_id: str | None = None,
    created: int | None = None,
) -> dict[str, str]:
    """The headers Genesys sends on the websocket upgrade, signed when a secret is given."""
    correlation_id = correlation_id or str(uuid.uuid4())
    headers = {
        "Audiohook-Organization-Id": organization_id,
        "Audiohook-Session-Id": session_id,
        "Audiohook-Correlation-Id": correlation_id,
        "X-API-KEY": api_key,
    }
    if client_secret_b64:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers.update(sign_request(
            [
                ("@request-target", target),
                ("@authority", parts.netloc),
                ("audiohook-organization-id", organization_id),
                ("audiohook-session-id", session_id),
                ("audiohook-correlation-id", correlation_id),
                ("x-api-key", api_key),
            ],
            keyid=api_key,
            key=base64.b64decode(client_secret_b64),
            created=created,
        ))
    return headers


def open_parameters(organization_id: str, conversation_id: str, agent_id: str | None,
                    dnis: str = "+18005550100") -> dict[str, Any]:
    """``open`` parameters the way Genesys fills them."""
    params: dict[str, Any] = {
        "organizationId": organization_id,
        "conversationId": conversation_id,
        "participant": {"id": str(uuid.uuid4()), "ani": "+15551230000", "aniName": "Caller",
                        "dnis": dnis},
        "media": OFFERED_MEDIA,
        "language": "en-US",
    }
    if agent_id:
        params["customConfig"] = {"agent_id": agent_id}
    return params


def interleave(caller: bytes, agent: bytes) -> bytes:
    """Interleave two 1-byte-per-sample tracks (PCMU stereo frame layout)."""
    out = bytearray(2 * len(caller))
    out[0::2] = caller
    out[1::2] = agent
    return bytes(out)


async def stream_call(call: CallAudio, options: StreamOptions) -> StreamResult:
    """Stream ``call`` over AudioHook; see ``carecue_sim`` for the contract."""
    # Genesys cannot put a token in the query; the API key header is how it authenticates.
    url = ingest_url(options.url, PATH, options.token).split("?", 1)[0]
    api_key = options.custom.get("api_key") or os.environ.get("CARECUE_SIM_AUDIOHOOK_API_KEY")
    api_key = api_key or options.token
    secret = options.custom.get("client_secret") or os.environ.get(
        "CARECUE_SIM_AUDIOHOOK_CLIENT_SECRET")
    org_id = options.custom.get("organization_id", str(uuid.uuid4()))
    conversation_id = _as_uuid(options.call_id)
    state = AudioHookClientState()
    headers = upgrade_headers(url, org_id, state.session_id, api_key, secret)
    received: list[Any] = []
    ws = await connect_ingest(url, options.url, headers)

    opened = asyncio.Event()
    closed = asyncio.Event()
    failure: list[str] = []

    async def reader() -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                msg = json.loads(raw)
                received.append(msg)
                state.saw(msg)
                if msg.get("type") == "opened":
                    opened.set()
                elif msg.get("type") == "closed":
                    closed.set()
                elif msg.get("type") == "disconnect":
                    failure.append(f"disconnect {msg['parameters']}")
                    opened.set()
                    with contextlib.suppress(ConnectionClosed):
                        await ws.send(json.dumps(state.message("close",
                                                               {"reason": "disconnect"})))
        opened.set()
        closed.set()

    read_task = asyncio.create_task(reader())
    chunk = call.sample_rate * options.chunk_ms // 1000
    chunk_s = options.chunk_ms / 1000
    n_chunks = -(-len(call.caller) // chunk)
    t0 = time.monotonic()
    sent = 0
    try:
        await ws.send(json.dumps(state.message(
            "open", open_parameters(org_id, conversation_id, options.agent_id))))
        await asyncio.wait_for(opened.wait(), 15)
        if failure:
            raise SimulateError(f"server refused the session: {failure[0]}", ws.close_code)
        t0 = time.monotonic()
        next_ping = PING_EVERY_S
        for i in range(n_chunks):
            await pace_until(t0, i, chunk_s, options.speed)
            if failure:
                raise SimulateError(f"server disconnected: {failure[0]}", ws.close_code)
            lo, hi = i * chunk, (i + 1) * chunk
            frame = interleave(call.caller[lo:hi], call.agent[lo:hi])
            await ws.send(frame)
            state.samples_sent += len(frame) // 2
            sent = i + 1
            if state.position_s >= next_ping:
                await ws.send(json.dumps(state.message("ping")))
                next_ping += PING_EVERY_S
        await ws.send(json.dumps(state.message("close", {"reason": "end"})))
        try:
            await asyncio.wait_for(closed.wait(), options.close_timeout_s)
        except TimeoutError:
            pass
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd else None
        raise SimulateError(f"server closed the stream after {sent} chunks: {code}", code) from exc
    finally:
        await ws.close()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(read_task, 5)
    if failure:
        raise SimulateError(f"server disconnected: {failure[0]}", ws.close_code)
    return StreamResult(
        call_id=conversation_id,
        audio_t0=t0,
        chunks_sent=sent,
        audio_s=sent * chunk_s,
        received=received,
        close_code=ws.close_code,
        close_reason=ws.close_reason or "",
    )


def _as_uuid(call_id: str) -> str:
    """AudioHook conversation ids are UUIDs; derive a stable one from any other call id."""
    try:
        return str(uuid.UUID(call_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"carecue:{call_id}"))
