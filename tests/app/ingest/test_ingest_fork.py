"""FreeSWITCH mod_audio_fork endpoint, driven the way mod_audio_fork streams."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from ingest_fakes import make_app
from starlette.websockets import WebSocketDisconnect

from app.ingest.base import IngestError
from app.ingest.fork import parse_start
from app.ingest.settings import AgentMap
from app.ingest.skeleton import split_frame

PATH = "/v1/ingest/fork"
# The message types mod_audio_fork's processIncomingMessage understands (lws_glue.cpp);
# anything else is logged as "unsupported msg type" on every call.
MODULE_TYPES = {"playAudio", "killAudio", "transcription", "transfer", "disconnect", "error",
                "json"}


def STARTED(call_id: str) -> dict[str, Any]:  # noqa: N802 - reads as a constant message
    return {"type": "json", "data": {"type": "started", "call_id": call_id}}


def _client() -> tuple[TestClient, Any, str]:
    app, registry = make_app()
    return TestClient(app), registry, app.state.signer.create("ingest")


def _stereo(caller: np.ndarray, agent: np.ndarray) -> bytes:
    return np.stack([caller, agent], axis=1).astype("<i2").tobytes()


@pytest.mark.parametrize("rate", [8000, 16000])
def test_stereo_l16_splits_channel0_caller_channel1_agent(rate: int) -> None:
    client, registry, token = _client()
    caller = np.arange(rate // 50, dtype=np.int16)
    agent = -np.arange(rate // 50, dtype=np.int16)
    with client.websocket_connect(f"{PATH}?token={token}") as ws:
        ws.send_text(json.dumps({"call_id": "fs-1", "agent_id": "A3", "sample_rate": rate,
                                 "channels": 2}))
        assert ws.receive_json() == STARTED("fs-1")
        for _ in range(3):
            ws.send_bytes(_stereo(caller, agent))
        ws.close(1000)
    call = registry.calls["fs-1"]
    assert call.meta.agent_id == "A3" and call.meta.source == "fork"
    assert call.audio("caller") == caller.astype("<i2").tobytes() * 3
    assert call.audio("agent") == agent.astype("<i2").tobytes() * 3
    assert {f.sample_rate for f in call.frames} == {rate}
    assert call.ended == "stop"


def test_mono_with_mix_type_in_query_and_stop_metadata() -> None:
    client, registry, token = _client()
    with client.websocket_connect(f"{PATH}?token={token}&mix_type=mono&sample_rate=8000") as ws:
        ws.send_text(json.dumps({"uuid": "b4f1e0c2", "agent_id": "A1"}))
        assert ws.receive_json()["data"]["call_id"] == "b4f1e0c2"
        ws.send_bytes(bytes(320))
        # uuid_audio_fork stop '<metadata>': the text frame, then the module closes normally.
        ws.send_text(json.dumps({"reason": "uuid_audio_fork stop"}))
        ws.close(1000)
    call = registry.calls["b4f1e0c2"]
    assert call.meta.tracks == ("caller",) and call.audio("caller") == bytes(320)
    assert call.ended == "stop"


def test_agent_from_map_by_metadata_field() -> None:
    client, registry, token = _client()
    client.app.state.agent_map = AgentMap.from_obj(  # type: ignore[attr-defined]
        {"fork": {"destination_number": {"1001": "A8"}}})
    with client.websocket_connect(f"{PATH}?token={token}") as ws:
        ws.send_text(json.dumps({"call_id": "c2", "destination_number": "1001",
                                 "sample_rate": 8000, "channels": 2}))
        ws.receive_json()
    assert registry.calls["c2"].meta.agent_id == "A8"


def _refused(url: str, first: str | bytes) -> tuple[dict[str, Any], int]:
    client, registry, token = _client()
    with client.websocket_connect(url.format(token=token)) as ws:
        if isinstance(first, bytes):
            ws.send_bytes(first)
        else:
            ws.send_text(first)
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as done:
            ws.receive_text()
    assert registry.opened == []
    return error, done.value.code


def test_audio_before_metadata_is_refused() -> None:
    error, code = _refused(PATH + "?token={token}", bytes(320))
    assert error["code"] == "bad_order" and code == 1007


def test_unsupported_rate_is_refused_1003() -> None:
    meta = json.dumps({"agent_id": "A1", "sample_rate": 44100, "channels": 2})
    error, code = _refused(PATH + "?token={token}", meta)
    assert error["code"] == "unsupported_format" and code == 1003


def test_deeply_nested_metadata_is_refused_1007() -> None:
    """``json.loads`` raises RecursionError, not ValueError, on deep nesting: it was 1011."""
    error, code = _refused(PATH + "?token={token}", "[" * 5000)
    assert error["code"] == "bad_metadata" and code == 1007


def test_mixed_audio_is_refused_1003() -> None:
    error, code = _refused(PATH + "?token={token}&mix_type=mixed&sample_rate=8000",
                           json.dumps({"agent_id": "A1"}))
    assert code == 1003 and "mixed" in error["message"]


def test_non_numeric_rate_is_refused() -> None:
    meta = json.dumps({"agent_id": "A1", "channels": 1, "sample_rate": "fast"})
    error, code = _refused(PATH + "?token={token}", meta)
    assert "sample_rate" in error["message"] and code == 1007


@pytest.mark.parametrize("meta", [{"channels": True}, {"channels": 1.5},
                                  {"sample_rate": 8000.5, "channels": 1}],
                         ids=["channels true", "channels 1.5", "sample_rate 8000.5"])
def test_a_bool_or_fraction_is_not_taken_as_rate_or_channels(meta: dict[str, Any]) -> None:
    """``int()`` took ``"channels": true`` as 1 (mono) and truncated 1.5 and 8000.5: the stream
    started with a layout nobody sent. They are not integers (1007), as "fast" is not."""
    error, code = _refused(PATH + "?token={token}", json.dumps({"agent_id": "A1", **meta}))
    assert error["code"] == "bad_metadata" and code == 1007
    assert "integers" in error["message"]


@pytest.mark.parametrize("meta", [{"agent_id": ["A1"]}, {"agent_id": True},
                                  {"agent_id": "A1", "call_id": {"id": "c9"}}],
                         ids=["agent list", "agent true", "call_id object"])
def test_an_id_that_is_not_a_string_is_refused(meta: dict[str, Any]) -> None:
    """``str()`` made ``["A1"]`` the agent "['A1']", ``true`` the agent "True" and an object
    the call id "{'id': 'c9'}": the call started under ids nobody sent."""
    error, code = _refused(PATH + "?token={token}", json.dumps(meta))
    assert error["code"] == "bad_metadata" and code == 1007


def test_bad_token_is_refused_1008() -> None:
    client, registry, _ = _client()
    with client.websocket_connect(f"{PATH}?token=nope") as ws:
        assert ws.receive_json()["type"] == "error"
        with pytest.raises(WebSocketDisconnect) as done:
            ws.receive_text()
    assert done.value.code == 1008


def test_odd_frame_ends_the_call_with_1007() -> None:
    client, registry, token = _client()
    with client.websocket_connect(f"{PATH}?token={token}") as ws:
        ws.send_text(json.dumps({"call_id": "c3", "agent_id": "A1", "sample_rate": 8000,
                                 "channels": 2}))
        ws.receive_json()
        ws.send_bytes(bytes(6))  # one and a half stereo frames
        error = ws.receive_json()
        assert error["code"] == "bad_audio"
        with pytest.raises(WebSocketDisconnect) as done:
            ws.receive_text()
    assert done.value.code == 1007
    assert registry.calls["c3"].ended == "error"
    # mod_audio_fork raises mod_audio_fork::error with the ``data`` member as its body.
    assert error["type"] in MODULE_TYPES and error["data"]["code"] == "bad_audio"


def test_parse_start_and_split_units() -> None:
    start = parse_start('{"call_id":"x","mix_type":"stereo","sample_rate":"16000"}', {})
    assert (start.channels, start.sample_rate, start.tracks) == (2, 16000, ("caller", "agent"))
    with pytest.raises(IngestError):
        parse_start("not json", {})
    left, right = split_frame(_stereo(np.array([1, 2]), np.array([3, 4])), "pcm_s16le", 2)
    assert np.frombuffer(left, "<i2").tolist() == [1, 2]
    assert np.frombuffer(right, "<i2").tolist() == [3, 4]


# -- what mod_audio_fork really sends (drachtio-freeswitch-modules, lws_glue.cpp/audio_pipe.cpp)


def test_dtmf_text_frame_mid_stream_is_ignored() -> None:
    """``uuid_audio_fork <uuid> send_text``: drachtio's example forwards every DTMF that way."""
    client, registry, token = _client()
    with client.websocket_connect(f"{PATH}?token={token}") as ws:
        ws.send_text(json.dumps({"call_id": "c-dtmf", "agent_id": "A1", "sample_rate": 8000,
                                 "channels": 1}))
        ws.receive_json()
        ws.send_bytes(b"\x01\x00" * 160)
        ws.send_text(json.dumps({"dtmf": "5", "duration": "1600", "source": "RTP"}))
        ws.send_text("not json at all")
        ws.send_bytes(b"\x02\x00" * 160)
        ws.close(1000)
    call = registry.calls["c-dtmf"]
    assert call.audio("caller") == b"\x01\x00" * 160 + b"\x02\x00" * 160
    assert call.ended == "stop"


def test_zero_length_frame_is_a_graceful_end() -> None:
    """On graceful shutdown the module sends an empty binary frame 'to flush any final
    responses', then waits for the server to close."""
    client, registry, token = _client()
    with client.websocket_connect(f"{PATH}?token={token}") as ws:
        ws.send_text(json.dumps({"call_id": "c-flush", "agent_id": "A1", "sample_rate": 8000,
                                 "channels": 2}))
        ws.receive_json()
        ws.send_bytes(bytes(640))
        ws.send_bytes(b"")
        with pytest.raises(WebSocketDisconnect) as done:
            ws.receive_text()
        assert done.value.code == 1000
    call = registry.calls["c-flush"]
    assert call.ended == "stop" and len(call.audio("agent")) == 320


def test_started_uses_a_message_type_the_module_understands() -> None:
    client, _, token = _client()
    with client.websocket_connect(f"{PATH}?token={token}") as ws:
        ws.send_text(json.dumps({"call_id": "c-st", "agent_id": "A1", "sample_rate": 8000,
                                 "channels": 1}))
        started = ws.receive_json()
    assert started["type"] in MODULE_TYPES and started == STARTED("c-st")


def test_stock_example_metadata_uses_the_documented_defaults() -> None:
    """drachtio's audio_fork.js sends ``{callId, to, from}`` and nothing about the audio."""
    client, registry, token = _client()
    client.app.state.agent_map = AgentMap.from_obj(  # type: ignore[attr-defined]
        {"fork": {"to": {"sip:1001@pbx.example.com": "A4"}}})
    metadata = {"callId": "3e1f7a2c@10.0.0.5", "to": "sip:1001@pbx.example.com",
                "from": "sip:+15551230000@carrier.example.net"}
    with client.websocket_connect(f"{PATH}?token={token}") as ws:
        ws.send_text(json.dumps(metadata))
        assert ws.receive_json() == STARTED("3e1f7a2c@10.0.0.5")
        ws.send_bytes(bytes(320))
        ws.close(1000)
    call = registry.calls["3e1f7a2c@10.0.0.5"]
    assert call.meta.agent_id == "A4" and call.meta.tracks == ("caller",)
    assert {f.sample_rate for f in call.frames} == {8000}


def test_default_rate_and_mix_come_from_settings() -> None:
    from app.ingest.settings import AdapterSettings

    app, registry = make_app(AdapterSettings(fork_sample_rate=16000, fork_mix_type="stereo"))
    client = TestClient(app)
    token = app.state.signer.create("ingest")
    with client.websocket_connect(f"{PATH}?token={token}") as ws:
        ws.send_text(json.dumps({"callId": "c-set", "agent_id": "A1"}))
        ws.receive_json()
        ws.send_bytes(bytes(640))
        ws.close(1000)
    call = registry.calls["c-set"]
    assert call.meta.tracks == ("caller", "agent")
    assert {f.sample_rate for f in call.frames} == {16000}


def test_a_null_mix_type_takes_the_default_instead_of_failing_the_stream() -> None:
    """Found by the fuzz test: ``{"mix_type": null}`` closed the stream 1011 internal_error."""
    assert parse_start('{"mix_type": null}', {}).channels == 1
    assert parse_start('{"mix_type": null}', {}, default_mix="stereo").channels == 2
    with pytest.raises(IngestError, match="not supported"):
        parse_start('{"mix_type": 7}', {})


@pytest.mark.parametrize(
    "meta, query, defaults, shape",
    [
        ({"sample_rate": None}, {}, {}, (8000, 1)),
        ({"sample_rate": None}, {}, {"default_rate": 16000}, (16000, 1)),
        ({"channels": None}, {}, {}, (8000, 1)),
        ({"channels": None, "mix_type": "stereo"}, {}, {}, (8000, 2)),
        ({"channels": None}, {}, {"default_mix": "stereo"}, (8000, 2)),
        ({"sample_rate": None, "channels": None}, {"sample_rate": "16000", "channels": "2"}, {},
         (16000, 2)),
    ],
)
def test_a_null_rate_or_channels_counts_as_absent(meta: dict[str, Any], query: dict[str, str],
                                                  defaults: dict[str, Any],
                                                  shape: tuple[int, int]) -> None:
    """JSON serializers write ``null`` for unset options: like a missing key, the URL query,
    ``mix_type`` or the configured default applies (``mix_type: null`` already did)."""
    start = parse_start(json.dumps({"call_id": "c-null", **meta}), query, **defaults)
    assert (start.sample_rate, start.channels) == shape
