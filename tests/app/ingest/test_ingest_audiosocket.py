"""Asterisk AudioSocket listener, driven the way Asterisk's AudioSocket() application does."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from ingest_fakes import RecordingRegistry

from app.ingest.audiosocket import (
    KIND_DTMF,
    KIND_HANGUP,
    KIND_SLIN_8K,
    KIND_SLIN_16K,
    AudioSocketServer,
    FrameDecoder,
    FrameError,
    check_frame,
    encode_frame,
    uuid_frame,
)
from app.ingest.settings import AdapterSettings, AgentMap

CALL = uuid.UUID("40325ec2-5efd-4bd3-805f-53576e581d13")


def test_frame_layout_is_kind_length_be_payload() -> None:
    assert encode_frame(KIND_HANGUP) == b"\x00\x00\x00"
    assert uuid_frame(CALL) == b"\x01\x00\x10" + CALL.bytes
    assert encode_frame(KIND_SLIN_8K, b"\x01\x02" * 160)[:3] == b"\x10\x01\x40"


def test_decoder_reassembles_split_frames_and_reports_truncation() -> None:
    stream = uuid_frame(CALL) + encode_frame(KIND_SLIN_8K, bytes(320)) + encode_frame(KIND_DTMF,
                                                                                       b"5")
    decoder = FrameDecoder()
    frames = []
    for i in range(0, len(stream), 7):
        frames.extend(decoder.feed(stream[i : i + 7]))
    decoder.eof()
    assert [f.kind for f in frames] == [0x01, 0x10, 0x03]
    assert frames[0].payload == CALL.bytes and frames[2].payload == b"5"
    truncated = FrameDecoder()
    assert list(truncated.feed(encode_frame(KIND_SLIN_8K, bytes(320))[:100])) == []
    with pytest.raises(FrameError, match="truncated"):
        truncated.eof()


@pytest.mark.parametrize(
    "kind, payload, match",
    [(0x01, bytes(15), "16 bytes"), (0x10, bytes(321), "whole"), (0x42, b"", "unknown"),
     (KIND_DTMF, b"12", "1 byte")],
)
def test_bad_frames_are_named(kind: int, payload: bytes, match: str) -> None:
    from app.ingest.audiosocket import Frame

    with pytest.raises(FrameError, match=match):
        check_frame(Frame(kind, payload))


Listen = Callable[..., Awaitable[tuple[AudioSocketServer, RecordingRegistry]]]


@pytest.fixture
async def listen() -> AsyncIterator[Listen]:
    """Starts AudioSocket listeners on free loopback ports; each is stopped after the test.

    ``await listen(agent_port=False, agents=None, registry=None, **settings)``: the agent
    port too when asked, the agent map ``default: A1`` and a new ``RecordingRegistry`` unless
    given; other keywords are ``AdapterSettings``. Returns the server and its registry."""
    servers: list[AudioSocketServer] = []

    async def start(agent_port: bool = False, agents: AgentMap | None = None,
                    registry: RecordingRegistry | None = None,
                    **over: Any) -> tuple[AudioSocketServer, RecordingRegistry]:
        calls = registry if registry is not None else RecordingRegistry()
        settings = AdapterSettings(audiosocket_host="127.0.0.1", audiosocket_port=0,
                                   audiosocket_agent_port=0 if agent_port else None, **over)
        server = AudioSocketServer(lambda: calls, settings, agents or AgentMap(default="A1"))
        await server.start()
        servers.append(server)
        return server, calls

    yield start
    for server in servers:
        await server.close()  # a second close (after a test's own) does nothing


async def _leg(port: int, frames: list[bytes], read_reply: bool = False,
               eof: bool = False) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for frame in frames:
        writer.write(frame)
        await writer.drain()
    if eof:
        writer.write_eof()
    reply = b""
    if read_reply:
        reply = await asyncio.wait_for(reader.read(), 5)
    else:
        await asyncio.wait_for(reader.read(), 5)  # the server closes after hangup
    writer.close()
    return reply


def _audio(value: int, n: int = 160) -> bytes:
    return value.to_bytes(2, "little", signed=True) * n


async def _wait_for(cond, limit_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(limit_s / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


async def test_two_legs_join_by_uuid_in_connection_order(listen: Listen) -> None:
    server, registry = await listen()
    port = server.ports[0]
    r1, w1 = await asyncio.open_connection("127.0.0.1", port)
    w1.write(uuid_frame(CALL) + encode_frame(KIND_SLIN_8K, _audio(100)))
    await w1.drain()
    await _wait_for(lambda: str(CALL) in registry.calls)
    await _leg(port, [uuid_frame(CALL), encode_frame(KIND_SLIN_8K, _audio(-7)),
                      encode_frame(KIND_DTMF, b"#"), encode_frame(KIND_SLIN_16K, _audio(3)),
                      encode_frame(KIND_HANGUP)])
    call = registry.calls[str(CALL)]
    assert call.ended is None  # the caller leg is still up
    w1.write(encode_frame(KIND_SLIN_8K, _audio(101)) + encode_frame(KIND_HANGUP))
    await w1.drain()
    await asyncio.wait_for(r1.read(), 5)
    w1.close()
    await _wait_for(lambda: call.ended is not None)
    assert registry.opened == [call]
    assert call.meta.source == "audiosocket" and call.meta.agent_id == "A1"
    assert call.audio("caller") == _audio(100) + _audio(101)
    assert [(f.track, f.sample_rate) for f in call.frames if f.track == "agent"] == [
        ("agent", 8000), ("agent", 16000)]
    assert call.ended == "hangup"


async def test_agent_port_decides_the_leg(listen: Listen) -> None:
    server, registry = await listen(agent_port=True)
    caller_port, agent_port = server.ports
    # The agent leg connects first; the port, not the order, says which it is.
    await _leg(agent_port, [uuid_frame(CALL), encode_frame(KIND_SLIN_8K, _audio(5)),
                            encode_frame(KIND_HANGUP)])
    call = registry.calls[str(CALL)]
    await _wait_for(lambda: call.ended is not None)
    assert {f.track for f in call.frames} == {"agent"}


async def test_truncated_frame_ends_that_leg_only_without_an_error_frame(listen: Listen) -> None:
    server, registry = await listen()
    port = server.ports[0]
    other = uuid.uuid4()
    r_ok, w_ok = await asyncio.open_connection("127.0.0.1", port)
    w_ok.write(uuid_frame(other) + encode_frame(KIND_SLIN_8K, _audio(1)))
    await w_ok.drain()
    # Header promises 320 bytes, the peer sends 10 and closes its side.
    r_bad, w_bad = await asyncio.open_connection("127.0.0.1", port)
    w_bad.write(uuid_frame(CALL) + b"\x10\x01\x40" + bytes(10))
    await w_bad.drain()
    w_bad.write_eof()
    reply = await asyncio.wait_for(r_bad.read(), 5)
    assert reply == b""  # closed, and never an 0xff frame that would hang up the caller
    w_bad.close()
    bad_call = registry.calls[str(CALL)]
    await _wait_for(lambda: bad_call.ended is not None)
    w_ok.write(encode_frame(KIND_SLIN_8K, _audio(2)) + encode_frame(KIND_HANGUP))
    await w_ok.drain()
    await asyncio.wait_for(r_ok.read(), 5)
    w_ok.close()
    ok_call = registry.calls[str(other)]
    await _wait_for(lambda: ok_call.ended is not None)
    assert ok_call.audio("caller") == _audio(1) + _audio(2)
    assert ok_call.ended == "hangup"


@pytest.mark.parametrize(
    "frames",
    [
        [encode_frame(KIND_SLIN_8K, bytes(320))],  # audio before the UUID
        [uuid_frame(CALL), encode_frame(0x42, b"x")],  # unknown kind
        [uuid_frame(CALL), encode_frame(KIND_SLIN_8K, bytes(3))],  # half a sample
        [encode_frame(0x01, bytes(8))],  # short UUID
    ],
)
async def test_malformed_frames_are_dropped_silently(frames: list[bytes], listen: Listen) -> None:
    server, registry = await listen()
    reply = await _leg(server.ports[0], frames, read_reply=True, eof=True)
    await _wait_for(lambda: all(c.ended is not None for c in registry.opened))
    assert reply == b""
    assert all(c.frames == [] for c in registry.opened)


async def test_no_uuid_in_time_closes_the_leg(listen: Listen) -> None:
    server, registry = await listen(ingest_handshake_timeout_s=0.3)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.ports[0])
    for _ in range(3):
        writer.write(encode_frame(KIND_SLIN_8K, bytes(320)))  # audio, but never a UUID
        await writer.drain()
        await asyncio.sleep(0.05)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert registry.opened == []


async def test_third_leg_for_a_uuid_is_refused(listen: Listen) -> None:
    server, registry = await listen()
    port = server.ports[0]
    legs = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
    for _, w in legs:
        w.write(uuid_frame(CALL))
        await w.drain()
    await _wait_for(lambda: str(CALL) in registry.calls)
    await asyncio.sleep(0.05)
    reply = await _leg(port, [uuid_frame(CALL)], read_reply=True)
    assert reply == b""  # that connection closed, without an 0xff frame
    for _, w in legs:
        w.write(encode_frame(KIND_HANGUP))
        await w.drain()
        w.close()
    call = registry.calls[str(CALL)]
    await _wait_for(lambda: call.ended is not None)


async def test_unmapped_call_is_closed_without_error_frame(listen: Listen) -> None:
    server, registry = await listen(agents=AgentMap())
    reply = await _leg(server.ports[0], [uuid_frame(CALL)], read_reply=True)
    assert reply == b""
    assert registry.opened == []


async def test_agent_from_uuid_map(listen: Listen) -> None:
    agents = AgentMap.from_obj({"audiosocket": {"uuid": {str(CALL): "A5"}}})
    server, registry = await listen(agents=agents)
    await _leg(server.ports[0], [uuid_frame(CALL), encode_frame(KIND_HANGUP)])
    await _wait_for(lambda: str(CALL) in registry.calls)
    assert registry.calls[str(CALL)].meta.agent_id == "A5"


# -- what Asterisk and CyCoreSystems/audiosocket really send ----------------------------------

# Asterisk's AudioSocket documentation: slin at these rates, one kind each.
CURRENT_KINDS = {0x10: 8000, 0x11: 12000, 0x12: 16000, 0x13: 24000, 0x14: 32000,
                 0x15: 44100, 0x16: 48000, 0x17: 96000, 0x18: 192000}
KIND_SILENCE = 0x02  # CyCoreSystems/audiosocket KindSilence


async def _one_leg(listen: Listen, frames: list[bytes], **over: Any,
                   ) -> tuple[bytes, RecordingRegistry]:
    server, registry = await listen(**over)
    reply = await _leg(server.ports[0], frames, read_reply=True)
    await _wait_for(lambda: all(c.ended is not None for c in registry.opened))
    return reply, registry


async def test_every_documented_slin_kind_has_its_rate(listen: Listen) -> None:
    frames = [uuid_frame(CALL)]
    frames += [encode_frame(kind, _audio(kind, rate // 50)) for kind, rate in
               CURRENT_KINDS.items()]
    reply, registry = await _one_leg(listen, [*frames, encode_frame(KIND_HANGUP)])
    call = registry.calls[str(CALL)]
    assert reply == b""
    assert [f.sample_rate for f in call.frames] == list(CURRENT_KINDS.values())
    assert call.ended == "hangup"


async def test_legacy_setting_reads_0x11_as_16k(listen: Listen) -> None:
    _, registry = await _one_leg(listen, [uuid_frame(CALL), encode_frame(0x11, _audio(1, 320)),
                                          encode_frame(KIND_HANGUP)],
                                 audiosocket_legacy_kinds=True)
    assert [f.sample_rate for f in registry.calls[str(CALL)].frames] == [16000]


async def test_silence_frames_are_accepted(listen: Listen) -> None:
    reply, registry = await _one_leg(listen, [
        uuid_frame(CALL), encode_frame(KIND_SLIN_8K, _audio(9)), encode_frame(KIND_SILENCE),
        encode_frame(KIND_SILENCE, bytes(320)), encode_frame(KIND_SLIN_8K, _audio(10)),
        encode_frame(KIND_HANGUP)])
    call = registry.calls[str(CALL)]
    assert reply == b"" and call.ended == "hangup"
    assert call.audio("caller") == _audio(9) + _audio(10)


async def test_unusable_frames_are_dropped_never_answered_with_0xff(listen: Listen) -> None:
    """app_audiosocket hangs the caller up on any kind but audio or hangup: CareCue logs and
    drops what it cannot use and keeps the call."""
    reply, registry = await _one_leg(listen, [
        uuid_frame(CALL), encode_frame(KIND_SLIN_8K, _audio(1)),
        encode_frame(0x42, b"x"),                       # a kind CareCue does not know
        encode_frame(KIND_SLIN_8K, bytes(3)),           # half a sample
        encode_frame(KIND_DTMF, b"12"),                 # not one digit
        uuid_frame(uuid.uuid4()),                       # a second UUID
        encode_frame(KIND_SLIN_8K, _audio(2)), encode_frame(KIND_HANGUP)])
    call = registry.calls[str(CALL)]
    assert reply == b"" and call.ended == "hangup"
    assert call.audio("caller") == _audio(1) + _audio(2)


async def test_stopping_the_listener_ends_calls_as_shutdown(listen: Listen) -> None:
    server, registry = await listen()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.ports[0])
    writer.write(uuid_frame(CALL) + encode_frame(KIND_SLIN_8K, _audio(4)))
    await writer.drain()
    await _wait_for(lambda: str(CALL) in registry.calls and registry.calls[str(CALL)].frames)
    await server.close()
    call = registry.calls[str(CALL)]
    await _wait_for(lambda: call.ended is not None)
    writer.close()
    assert call.ended == "shutdown"


def test_the_unauthenticated_listener_binds_to_loopback_by_default() -> None:
    # AudioSocket has no authentication: nothing but this host may reach it unless told
    assert AdapterSettings().audiosocket_host == "127.0.0.1"


# -- a call shorter than its legs' set-up ---------------------------------------------------


class _SlowEndRegistry(RecordingRegistry):
    """Like the service's registry: a call id stays taken until the call has finished ending
    (its last utterances flushed), and opening it meanwhile is refused as ``call_exists``.
    Ending waits for ``release`` so a test can hold a call mid-end."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.ending = asyncio.Event()
        self.refused: list[str] = []
        self._changed = asyncio.Event()
        self._finishing: set[str] = set()

    async def open_call(self, meta: Any) -> Any:
        from app.ingest.base import IngestError

        self._changed.set()
        live = self.calls.get(meta.call_id)
        if meta.call_id in self._finishing or (live is not None and live.ended is None):
            self.refused.append(meta.call_id)
            raise IngestError("call_exists", "already streaming", 1008)
        call = await super().open_call(meta)
        registry = self

        async def push(frame: Any, _push: Any = call.push) -> None:
            await _push(frame)
            registry._changed.set()

        async def end(reason: str = "stop", _end: Any = call.end) -> None:
            registry._finishing.add(call.call_id)
            registry.ending.set()
            await registry.release.wait()  # flushing the last utterances
            await _end(reason)
            registry._finishing.discard(call.call_id)
            registry._changed.set()

        call.push = push  # type: ignore[method-assign]
        call.end = end  # type: ignore[method-assign]
        return call

    async def until(self, cond: Any, limit_s: float = 5.0) -> None:
        async def wait() -> None:
            while not cond():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), limit_s)


async def test_second_leg_of_a_call_that_ends_while_it_connects_joins_that_call(
    listen: Listen,
) -> None:
    """The caller leg hangs up (a call of a few hundred ms) before the agent leg's UUID is
    read: the agent leg belongs to that call, is not refused as a duplicate of it."""
    registry = _SlowEndRegistry()
    server, _ = await listen(registry=registry, audiosocket_leg_grace_s=30.0)
    port = server.ports[0]
    try:
        r1, w1 = await asyncio.open_connection("127.0.0.1", port)
        w1.write(uuid_frame(CALL) + encode_frame(KIND_SLIN_8K, _audio(100))
                 + encode_frame(KIND_HANGUP))
        await w1.drain()
        # The server has taken the caller's hangup: its call is ending, or its socket closed.
        closed = asyncio.ensure_future(r1.read())
        ending = asyncio.ensure_future(registry.ending.wait())
        await asyncio.wait({closed, ending}, timeout=5,
                           return_when=asyncio.FIRST_COMPLETED)
        assert closed.done() or ending.done()
        r2, w2 = await asyncio.open_connection("127.0.0.1", port)
        w2.write(uuid_frame(CALL) + encode_frame(KIND_SLIN_8K, _audio(-7))
                 + encode_frame(KIND_HANGUP))
        await w2.drain()
        # The agent leg's UUID has been handled: joined (its audio arrived) or refused.
        await registry.until(lambda: registry.refused or any(
            f.track == "agent" or len(c.frames) > 1
            for c in registry.opened for f in c.frames))
        registry.release.set()
        await asyncio.wait_for(r2.read(), 5)
        await asyncio.wait_for(closed, 5)
        ending.cancel()
        w1.close()
        w2.close()
        await registry.until(lambda: all(c.ended is not None for c in registry.opened))
    finally:
        registry.release.set()  # else stopping the listener would wait for it
    assert registry.refused == []
    assert len(registry.opened) == 1
    call = registry.opened[0]
    assert call.audio("caller") == _audio(100)
    assert call.audio("agent") == _audio(-7)
    assert call.ended == "hangup"


async def test_a_leg_arriving_while_its_call_ends_starts_a_new_call_not_refused(
    listen: Listen,
) -> None:
    """After the grace the call is ending (flushing) when a late leg's UUID arrives: it
    waits for that end and starts the call afresh instead of being refused as a duplicate."""
    registry = _SlowEndRegistry()
    server, _ = await listen(registry=registry, audiosocket_leg_grace_s=0)
    port = server.ports[0]
    try:
        r1, w1 = await asyncio.open_connection("127.0.0.1", port)
        w1.write(uuid_frame(CALL) + encode_frame(KIND_SLIN_8K, _audio(1))
                 + encode_frame(KIND_HANGUP))
        await w1.drain()
        await asyncio.wait_for(registry.ending.wait(), 5)
        r2, w2 = await asyncio.open_connection("127.0.0.1", port)
        w2.write(uuid_frame(CALL) + encode_frame(KIND_SLIN_8K, _audio(2))
                 + encode_frame(KIND_HANGUP))
        await w2.drain()
        # Let the server read the late leg's UUID before the first call finishes ending.
        for _ in range(20):
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        registry.release.set()
        await asyncio.wait_for(r1.read(), 5)
        await asyncio.wait_for(r2.read(), 5)
        w1.close()
        w2.close()
        await registry.until(lambda: len(registry.opened) + len(registry.refused) == 2
                             and all(c.ended is not None for c in registry.opened))
    finally:
        registry.release.set()  # else stopping the listener would wait for it
    assert registry.refused == []
    assert [c.audio("caller") for c in registry.opened] == [_audio(1), _audio(2)]
    assert [c.ended for c in registry.opened] == ["hangup", "hangup"]


async def test_a_lone_leg_call_ends_after_the_grace_with_its_reason(listen: Listen) -> None:
    server, registry = await listen(audiosocket_leg_grace_s=0.05)
    await _leg(server.ports[0], [uuid_frame(CALL), encode_frame(KIND_SLIN_8K, _audio(3)),
                                 encode_frame(KIND_HANGUP)])
    call = registry.calls[str(CALL)]
    await _wait_for(lambda: call.ended is not None)
    assert registry.opened == [call] and call.ended == "hangup"
    assert call.audio("caller") == _audio(3)


async def test_stopping_the_listener_ends_a_call_waiting_for_its_other_leg(listen: Listen) -> None:
    server, registry = await listen(audiosocket_leg_grace_s=60)
    await _leg(server.ports[0], [uuid_frame(CALL), encode_frame(KIND_HANGUP)])
    call = registry.calls[str(CALL)]
    assert call.ended is None  # its agent leg may still come
    await server.close()
    assert call.ended == "shutdown"
