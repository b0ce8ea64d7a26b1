"""Bad input on the ingest sockets: each case gets its JSON error and close code, and a call
streaming at the same time on the same server carries on untouched."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from tests.app.service_helpers import (
    Live,
    eventually,
    live,
    read_until,
    recv_json,
    tok,
    twilio_media,
    twilio_start,
    twilio_stop,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live(tmp_path_factory.mktemp("bad"), max_frame_bytes=4096) as s:
        yield s


def expect_close(ws: ClientConnection, code: str, close_code: int) -> dict[str, Any]:
    err = recv_json(ws)
    assert err["type"] == "error" and err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"]
    with pytest.raises(ConnectionClosed) as exc:
        ws.recv(timeout=10)
    assert exc.value.rcvd is not None and exc.value.rcvd.code == close_code
    return err


def native_start(**over: Any) -> str:
    msg = {
        "type": "start",
        "call_id": "N1",
        "agent_id": "A9",
        "encoding": "pcm_s16le",
        "sample_rate": 8000,
        "channels": 1,
        "tracks": ["caller"],
    }
    msg.update(over)
    return json.dumps(msg)


Send = Callable[[ClientConnection], None]

CASES: list[tuple[str, str, Send, str, int]] = [
    (
        "twilio malformed json",
        "/v1/ingest/twilio",
        lambda ws: ws.send("{not json"),
        "malformed_json",
        1007,
    ),
    (
        "twilio wrong first message",
        "/v1/ingest/twilio",
        lambda ws: ws.send(twilio_media(b"x", stream_sid="MZ9")),
        "expected_start",
        1007,
    ),
    (
        "twilio binary frame",
        "/v1/ingest/twilio",
        lambda ws: ws.send(b"\x00\x01"),
        "unsupported_data",
        1003,
    ),
    (
        "twilio unsupported encoding",
        "/v1/ingest/twilio",
        lambda ws: ws.send(twilio_start("CAx", "A9").replace("audio/x-mulaw", "audio/x-l16")),
        "unsupported_encoding",
        1003,
    ),
    (
        "twilio no agent",
        "/v1/ingest/twilio",
        lambda ws: ws.send(twilio_start("CAy", "").replace('"agent_id": ""', '"other": "1"')),
        "missing_agent_id",
        1007,
    ),
    (
        # json.loads raises RecursionError (not ValueError) past ~1000 levels: it was 1011.
        "twilio deeply nested json",
        "/v1/ingest/twilio",
        lambda ws: ws.send("[" * 5000),
        "malformed_json",
        1007,
    ),
    (
        "native malformed json",
        "/v1/ingest/stream",
        lambda ws: ws.send("{oops"),
        "malformed_json",
        1007,
    ),
    (
        "native deeply nested json",
        "/v1/ingest/stream",
        lambda ws: ws.send("[" * 5000),
        "malformed_json",
        1007,
    ),
    (
        "native wrong first message",
        "/v1/ingest/stream",
        lambda ws: ws.send(b"\x00" * 320),
        "expected_start",
        1007,
    ),
    (
        "native wrong type",
        "/v1/ingest/stream",
        lambda ws: ws.send('{"type":"media"}'),
        "expected_start",
        1007,
    ),
    (
        "native unsupported encoding",
        "/v1/ingest/stream",
        lambda ws: ws.send(native_start(encoding="opus")),
        "unsupported_encoding",
        1003,
    ),
    (
        "native call id with an unpaired surrogate",
        "/v1/ingest/stream",
        lambda ws: ws.send(native_start(call_id="CA\udfff")),
        "bad_call_id",
        1007,
    ),
    (
        "native agent id with a control character",
        "/v1/ingest/stream",
        lambda ws: ws.send(native_start(agent_id="A\u0007")),
        "bad_agent_id",
        1007,
    ),
    (
        "native unsupported rate",
        "/v1/ingest/stream",
        lambda ws: ws.send(native_start(sample_rate=4000)),
        "unsupported_sample_rate",
        1003,
    ),
    (
        # In range, but not a rate the resampler takes: it used to kill the transcriber later.
        "native rate the resampler cannot take",
        "/v1/ingest/stream",
        lambda ws: ws.send(native_start(sample_rate=8001)),
        "unsupported_sample_rate",
        1003,
    ),
    (
        # 2.0 passed the channel check, then the first stereo frame failed to split (1011).
        "native channels that are a float",
        "/v1/ingest/stream",
        lambda ws: ws.send(native_start(channels=2.0, tracks=["caller", "agent"])),
        "unsupported_channels",
        1003,
    ),
    (
        "native tracks that are not strings",
        "/v1/ingest/stream",
        lambda ws: ws.send(native_start(tracks=[["caller"]])),
        "bad_tracks",
        1007,
    ),
]


@pytest.mark.parametrize(
    ("name", "path", "send", "code", "close_code"), CASES, ids=[c[0] for c in CASES]
)
def test_rejected_with_code(
    server: Live, name: str, path: str, send: Send, code: str, close_code: int
) -> None:
    with server.ws(path, tok("ingest")) as ws:
        send(ws)
        expect_close(ws, code, close_code)


def test_twilio_oversized_media_closes_1009(server: Live) -> None:
    with server.ws("/v1/ingest/twilio", tok("ingest")) as ws:
        ws.send(twilio_start("CAbig", "A9", stream_sid="MZbig"))
        ws.send(twilio_media(b"a" * 5000, stream_sid="MZbig"))
        expect_close(ws, "frame_too_big", 1009)
    detail = eventually(  # the platform is told first; the call ends just after
        lambda: server.get("/v1/calls/CAbig", tok("supervisor")).json(),
        lambda d: bool(d.get("ended_at")),
    )
    assert detail["end_reason"] == "error" and detail["ended_at"]


def test_native_oversized_frame_closes_1009(server: Live) -> None:
    with server.ws("/v1/ingest/stream", tok("ingest")) as ws:
        ws.send(native_start(call_id="Nbig"))
        assert recv_json(ws) == {"type": "started", "call_id": "Nbig"}
        ws.send(b"\x00" * 5000)
        expect_close(ws, "frame_too_big", 1009)


def test_native_deeply_nested_control_message_closes_1007(server: Live) -> None:
    """``json.loads`` raises RecursionError, not ValueError, on deep nesting: it was 1011."""
    with server.ws("/v1/ingest/stream", tok("ingest")) as ws:
        ws.send(native_start(call_id="Ndeep"))
        assert recv_json(ws) == {"type": "started", "call_id": "Ndeep"}
        ws.send("[" * 5000)
        expect_close(ws, "malformed_json", 1007)


def test_native_null_custom_field_is_left_out(server: Live) -> None:
    """``"custom": {"bed": null}`` was stored (and shown) as the text "None"."""
    with server.ws("/v1/ingest/stream", tok("ingest")) as ws:
        ws.send(native_start(call_id="Ncustom", custom={"ward": "7B", "bed": None}))
        assert recv_json(ws) == {"type": "started", "call_id": "Ncustom"}
        assert server.app.state.calls.get("Ncustom").meta.custom == {"ward": "7B"}
        ws.send('{"type":"stop"}')
        assert recv_json(ws) == {"type": "stopped", "call_id": "Ncustom"}


def test_unknown_stream_sid_closes_1008(server: Live) -> None:
    with server.ws("/v1/ingest/twilio", tok("ingest")) as ws:
        ws.send(twilio_start("CAsid", "A9", stream_sid="MZa"))
        ws.send(twilio_media(b"hello", stream_sid="MZother"))
        expect_close(ws, "unknown_call", 1008)


def test_duplicate_call_is_refused(server: Live) -> None:
    with server.ws("/v1/ingest/stream", tok("ingest")) as first:
        first.send(native_start(call_id="Ndup"))
        assert recv_json(first)["type"] == "started"
        with server.ws("/v1/ingest/stream", tok("ingest")) as second:
            second.send(native_start(call_id="Ndup"))
            expect_close(second, "call_exists", 1008)
        first.send('{"type":"stop"}')
        assert recv_json(first) == {"type": "stopped", "call_id": "Ndup"}


@pytest.mark.parametrize(
    ("token", "code"),
    [(None, "missing_token"), ("cc1.e30.bad", "bad_token"), ("agent", "forbidden")],
)
def test_bad_token_on_ingest(server: Live, token: str | None, code: str) -> None:
    t = tok("agent", "A9") if token == "agent" else token
    for path in ("/v1/ingest/stream", "/v1/ingest/twilio"):
        with server.ws(path, t) as ws:
            if path.endswith("twilio") and t is None:
                # Twilio may carry the token in customParameters; without one, start is refused.
                ws.send(twilio_start("CAnotoken", "A9"))
            expect_close(ws, code, 1008)


def test_twilio_token_in_custom_parameters(server: Live) -> None:
    with server.ws("/v1/agents/A8/events", tok("agent", "A8")) as agent:
        with server.ws("/v1/ingest/twilio") as ws:
            ws.send(twilio_start("CAcp", "A8", stream_sid="MZcp", token=tok("ingest")))
            ws.send(twilio_media(b"hello there", stream_sid="MZcp"))
            ws.send(twilio_stop("CAcp", stream_sid="MZcp"))
        got = read_until(agent, lambda e: e["type"] == "call.ended")
    started = next(e for e in got if e["type"] == "call.started")
    assert "token" not in started["data"]["custom"]  # never stored or shown


def test_bad_input_does_not_disturb_a_live_call(server: Live) -> None:
    """A good call streams while every bad case above hits the same server."""
    with server.ws("/v1/agents/A7/events", tok("agent", "A7")) as agent:
        with server.ws("/v1/ingest/twilio", tok("ingest")) as good:
            good.send(twilio_start("CAgood", "A7", stream_sid="MZgood"))
            good.send(twilio_media(b"first words", stream_sid="MZgood"))
            for _name, path, send, code, close_code in CASES:
                with server.ws(path, tok("ingest")) as bad:
                    send(bad)
                    expect_close(bad, code, close_code)
            good.send(twilio_media(b"I'm terrified", stream_sid="MZgood"))
            good.send(twilio_media(b"thanks for waiting", "outbound", stream_sid="MZgood"))
            good.send(twilio_stop("CAgood", stream_sid="MZgood"))
        got = read_until(agent, lambda e: e["type"] == "call.ended")
    finals = [e["data"]["text"] for e in got if e["type"] == "transcript.final"]
    assert finals == ["first words", "I'm terrified", "thanks for waiting"] or sorted(
        finals
    ) == sorted(["first words", "I'm terrified", "thanks for waiting"])
    assert any(e["type"] == "nudge.created" for e in got)
    assert got[-1]["data"]["reason"] == "stop"


def test_second_twilio_stream_of_one_call_gets_its_own_id(server: Live) -> None:
    with server.ws("/v1/ingest/twilio", tok("ingest")) as first:
        first.send(twilio_start("CAfork", "A9", stream_sid="MZin"))
        first.send(twilio_media(b"inbound words", stream_sid="MZin"))
        # the first stream's call is open before the second starts
        eventually(lambda: server.app.state.calls.get("CAfork"), lambda c: c is not None, 10.0)
        with server.ws("/v1/ingest/twilio", tok("ingest")) as second:
            second.send(twilio_start("CAfork", "A9", stream_sid="MZout"))
            second.send(twilio_media(b"outbound words", "outbound", stream_sid="MZout"))
            second.send(twilio_stop("CAfork", stream_sid="MZout"))
        first.send(twilio_stop("CAfork", stream_sid="MZin"))
    # the store writes behind the call: give a loaded machine a moment to catch up
    ids = eventually(
        lambda: {c["call_id"] for c in server.get("/v1/calls", tok("supervisor")).json()["calls"]},
        lambda ids: {"CAfork", "CAfork:MZout"} <= ids,
        15.0,
    )
    assert {"CAfork", "CAfork:MZout"} <= ids


@pytest.mark.parametrize("given", ["", None], ids=["empty", "null"])
def test_an_empty_call_id_parameter_still_gives_a_second_stream_its_own_id(
    server: Live, given: str | None
) -> None:
    """``customParameters.call_id`` present but empty (an unfilled ``<Parameter>``) or null: the
    call id is the callSid, so a second stream of the call must become "<callSid>:<streamSid>"
    as without the parameter; it was refused 1008 call_exists as if the id had been chosen."""
    sid = f"CAempty{given is None}"

    def start(stream_sid: str) -> str:
        msg = json.loads(twilio_start(sid, "A9", stream_sid=stream_sid))
        msg["start"]["customParameters"]["call_id"] = given
        return json.dumps(msg)

    with server.ws("/v1/ingest/twilio", tok("ingest")) as first:
        first.send(start("MZin"))
        first.send(twilio_media(b"inbound words", stream_sid="MZin"))
        # the first stream's call is open before the second starts
        eventually(lambda: server.app.state.calls.get(sid), lambda c: c is not None, 10.0)
        with server.ws("/v1/ingest/twilio", tok("ingest")) as second:
            second.send(start("MZout"))
            second.send(twilio_media(b"outbound words", "outbound", stream_sid="MZout"))
            assert eventually(
                lambda: server.app.state.calls.get(f"{sid}:MZout"), lambda c: c is not None, 10.0
            ) is not None
            assert server.app.state.calls.get(sid).meta.custom.get("call_id") != "None"
            second.send(twilio_stop(sid, stream_sid="MZout"))
        first.send(twilio_stop(sid, stream_sid="MZin"))


def test_twilio_media_timestamp_out_of_range_is_ignored(server: Live) -> None:
    """``"timestamp": Infinity`` or 400 digits: ``int(ts) / 1000`` overflowed and the stream
    closed 1011. A timestamp that is no usable number is ignored, as a non-numeric one is."""
    with server.ws("/v1/agents/A6/events", tok("agent", "A6")) as agent:
        with server.ws("/v1/ingest/twilio", tok("ingest")) as ws:
            ws.send(twilio_start("CAts", "A6", stream_sid="MZts"))
            for ts in (float("inf"), "9" * 400):
                media = json.loads(twilio_media(b"hello there", stream_sid="MZts"))
                media["media"]["timestamp"] = ts
                ws.send(json.dumps(media))
            ws.send(twilio_stop("CAts", stream_sid="MZts"))
            with pytest.raises(ConnectionClosed) as exc:
                ws.recv(timeout=10)
            assert exc.value.rcvd is not None and exc.value.rcvd.code == 1000
        got = read_until(agent, lambda e: e["type"] == "call.ended")
    assert [e["data"]["text"] for e in got if e["type"] == "transcript.final"]
    assert got[-1]["data"]["reason"] == "stop"


@pytest.mark.parametrize(
    ("first", "code"),
    [("not json", "malformed_json"), (json.dumps({"event": "media"}), "expected_start")],
)
def test_twilio_error_frames_carry_event(server: Live, first: str, code: str) -> None:
    """Twilio-side tools dispatch on ``event``, which Twilio puts on every message."""
    with server.ws("/v1/ingest/twilio", tok("ingest")) as ws:
        ws.send(first)
        err = expect_close(ws, code, 1007)
    assert err["event"] == "error"


def test_twilio_error_after_start_names_the_stream(server: Live) -> None:
    with server.ws("/v1/ingest/twilio", tok("ingest")) as ws:
        ws.send(twilio_start("CAev", "A9", stream_sid="MZev"))
        ws.send(json.dumps({"event": "media", "streamSid": "MZev", "media": {}}))
        err = expect_close(ws, "bad_media", 1007)
    assert err["event"] == "error" and err["streamSid"] == "MZev"


@pytest.mark.parametrize("frame", ["binary", "text"])
def test_fork_frames_above_the_frame_limit_close_1009(server: Live, frame: str) -> None:
    """The server's websocket limit is larger (1 MiB); the fork stream keeps to
    ``CARECUE_MAX_FRAME_BYTES`` (4096 here) for audio and to its metadata limit for text."""
    with server.ws("/v1/ingest/fork", tok("ingest")) as ws:
        ws.send(json.dumps({"call_id": f"Fbig-{frame}", "agent_id": "A9"}))
        assert recv_json(ws)["data"]["type"] == "started"
        ws.send(b"\x00" * 70_000 if frame == "binary" else "x" * 70_000)
        expect_close(ws, "too_big", 1009)


def test_a_supervisor_token_cannot_stream_into_v1_asr(server: Live) -> None:
    """``/v1/asr`` takes audio: an ingest role, like every other ingest endpoint."""
    with server.ws("/v1/asr", tok("supervisor")) as ws:
        expect_close(ws, "forbidden", 1008)


@pytest.mark.parametrize("path", ["/v1/ingest/stream", "/v1/agents/A9/events"])
def test_a_non_ascii_token_is_refused_not_a_crash(server: Live, path: str) -> None:
    """``?token=cc1.a.%C3%A9``: the signature check used to raise before authentication."""
    from websockets.sync.client import connect

    with connect(f"{server.ws_base}{path}?token=cc1.a.%C3%A9", open_timeout=30) as ws:
        expect_close(ws, "bad_token", 1008)
