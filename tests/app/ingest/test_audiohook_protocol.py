"""AudioHook v2 server state machine: numbering, positions, media, order (no IO)."""

from __future__ import annotations

import json

import pytest

from app.ingest.audiohook_protocol import (
    AudioHookSession,
    Media,
    ProtocolViolation,
    State,
    format_duration,
    parse_duration,
    select_media,
)
from carecue_sim.audiohook import AudioHookClientState, interleave, open_parameters

ORG = "d7934305-0972-4844-938e-9060eef73d05"
CONV = "090eaa2f-72fa-480a-83e0-8667ff89c0ec"


def _opened_pair(fmt: str = "PCMU") -> tuple[AudioHookSession, AudioHookClientState]:
    client = AudioHookClientState()
    server = AudioHookSession(session_id=client.session_id)
    params = open_parameters(ORG, CONV, "A1")
    if fmt == "L16":
        params["media"] = [m for m in params["media"] if m["format"] == "L16"]
    msg = server.receive_text(json.dumps(client.message("open", params)))
    assert msg.open is not None
    media = select_media(msg.open.offered)
    client.saw(server.opened(media))
    return server, client


def test_duration_round_trip() -> None:
    assert parse_duration("PT1.25S") == 1.25
    assert parse_duration("PT0S") == 0
    assert format_duration(2.5) == "PT2.5S"
    assert format_duration(0) == "PT0S"
    with pytest.raises(ProtocolViolation):
        parse_duration("1.25")


def test_open_opened_with_stereo_pcmu_preferred() -> None:
    server, client = _opened_pair()
    assert server.state is State.ACTIVE
    assert server.media == Media("PCMU", ("external", "internal"))
    assert server.seq == 1 and server.clientseq == 1


def test_server_messages_carry_seq_and_clientseq() -> None:
    server, client = _opened_pair()
    server.receive_text(json.dumps(client.message("ping")))
    pong = server.build("pong")
    assert pong["seq"] == 2 and pong["clientseq"] == 2 and pong["id"] == client.session_id
    assert pong["version"] == "2"


def test_pcmu_stereo_frames_split_external_caller_internal_agent() -> None:
    server, client = _opened_pair()
    caller, agent = bytes(range(0, 160)), bytes(range(80, 240))
    chunks = server.receive_audio(interleave(caller, agent))
    by_track = {c.track: c for c in chunks}
    assert by_track["caller"].data == caller and by_track["agent"].data == agent
    assert by_track["caller"].encoding == "mulaw"
    assert server.position_s == pytest.approx(0.02)


def test_l16_stereo_frames_split_into_16_bit_samples() -> None:
    import numpy as np

    server, client = _opened_pair("L16")
    assert server.media is not None and server.media.format == "L16"
    caller = np.arange(160, dtype="<i2")
    agent = -np.arange(160, dtype="<i2")
    frame = np.stack([caller, agent], axis=1).astype("<i2").tobytes()
    chunks = {c.track: c for c in server.receive_audio(frame)}
    assert chunks["caller"].data == caller.tobytes()
    assert chunks["agent"].data == agent.tobytes()
    assert chunks["agent"].encoding == "pcm_s16le"


def test_channel_order_follows_the_offer() -> None:
    media = select_media(({"type": "audio", "format": "PCMU", "channels": ["internal", "external"],
                           "rate": 8000},))
    assert media is not None and media.channels == ("internal", "external")


def test_unsupported_media_is_not_selected() -> None:
    assert select_media(({"type": "audio", "format": "opus", "channels": ["external"],
                          "rate": 8000},)) is None
    assert select_media(({"type": "audio", "format": "L16", "channels": ["external"],
                          "rate": 16000},)) is None


def test_seq_must_increase_by_one() -> None:
    server, client = _opened_pair()
    msg = client.message("ping")
    msg["seq"] += 1
    with pytest.raises(ProtocolViolation, match="seq"):
        server.receive_text(json.dumps(msg))


def test_repeated_seq_is_refused() -> None:
    server, client = _opened_pair()
    server.receive_text(json.dumps(client.message("ping")))
    client.seq -= 1
    with pytest.raises(ProtocolViolation, match="seq"):
        server.receive_text(json.dumps(client.message("ping")))


def test_serverseq_cannot_run_ahead() -> None:
    server, client = _opened_pair()
    client.serverseq = 7
    with pytest.raises(ProtocolViolation, match="serverseq"):
        server.receive_text(json.dumps(client.message("ping")))


def test_position_must_match_audio_received() -> None:
    server, client = _opened_pair()
    server.receive_audio(bytes(320))
    client.samples_sent = 160
    server.receive_text(json.dumps(client.message("ping")))  # PT0.02S agrees
    client.samples_sent = 8000
    with pytest.raises(ProtocolViolation, match="position"):
        server.receive_text(json.dumps(client.message("ping")))


def test_declared_gap_allows_position_to_jump() -> None:
    server, client = _opened_pair()
    server.receive_text(json.dumps(client.message(
        "discarded", {"start": "PT0S", "discarded": "PT2S"})))
    client.gaps_s = 2.0
    server.receive_text(json.dumps(client.message("ping")))
    chunks = server.receive_audio(bytes(320))
    assert chunks[0].start_s == pytest.approx(2.0)


def test_session_id_must_not_change() -> None:
    server, client = _opened_pair()
    msg = client.message("ping")
    msg["id"] = "11111111-1111-4111-8111-111111111111"
    with pytest.raises(ProtocolViolation, match="session identifier"):
        server.receive_text(json.dumps(msg))


def test_audio_before_open_is_refused() -> None:
    server = AudioHookSession(session_id=AudioHookClientState().session_id)
    with pytest.raises(ProtocolViolation, match="audio in state PREPARING"):
        server.receive_audio(bytes(320))


def test_ping_before_open_is_fine_but_update_is_not() -> None:
    client = AudioHookClientState()
    server = AudioHookSession(session_id=client.session_id)
    server.receive_text(json.dumps(client.message("ping")))
    with pytest.raises(ProtocolViolation, match="before 'open'"):
        server.receive_text(json.dumps(client.message("update", {"language": "en-US"})))


def test_second_open_is_refused() -> None:
    server, client = _opened_pair()
    with pytest.raises(ProtocolViolation, match="unexpected 'open'"):
        server.receive_text(json.dumps(client.message("open", open_parameters(ORG, CONV, None))))


def test_partial_stereo_frame_is_refused() -> None:
    server, client = _opened_pair()
    with pytest.raises(ProtocolViolation, match="multiple of 2"):
        server.receive_audio(bytes(161))


def test_paused_client_may_not_send_audio_until_resumed() -> None:
    server, client = _opened_pair()
    server.receive_text(json.dumps(client.message("paused")))
    assert server.state is State.PAUSED
    with pytest.raises(ProtocolViolation, match="PAUSED"):
        server.receive_audio(bytes(320))


def test_resumed_counts_the_discarded_pause() -> None:
    server, client = _opened_pair()
    server.receive_text(json.dumps(client.message("paused")))
    server.receive_text(json.dumps(client.message(
        "resumed", {"start": "PT0S", "discarded": "PT1.5S"})))
    assert server.state is State.ACTIVE
    assert server.receive_audio(bytes(320))[0].start_s == pytest.approx(1.5)


def test_unknown_message_type_is_refused() -> None:
    server, client = _opened_pair()
    with pytest.raises(ProtocolViolation, match="not a supported client message"):
        server.receive_text(json.dumps(client.message("opened")))


def test_open_parameters_are_validated() -> None:
    client = AudioHookClientState()
    server = AudioHookSession(session_id=client.session_id)
    params = open_parameters(ORG, "not-a-uuid", None)
    with pytest.raises(ProtocolViolation, match="conversationId"):
        server.receive_text(json.dumps(client.message("open", params)))


@pytest.mark.parametrize(("field", "value", "info"), [
    ("position", "PT0S\n", "invalid duration"),
    ("conversationId", CONV + "\n", "conversationId"),
    ("language", "en-US\n", "language"),
])
def test_a_trailing_newline_does_not_pass_the_patterns(field: str, value: str,
                                                       info: str) -> None:
    """``$`` also matches before a final newline: a position "PT0S\\n" passed the check and
    then failed in ``float`` (1011 on the endpoint); an id or language with the newline was
    taken as valid."""
    client = AudioHookClientState()
    server = AudioHookSession(session_id=client.session_id)
    message = client.message("open", open_parameters(ORG, CONV, "A1"))
    if field == "position":
        message["position"] = value
    else:
        message["parameters"][field] = value
    with pytest.raises(ProtocolViolation, match=info):
        server.receive_text(json.dumps(message))


def test_after_disconnect_only_close_matters() -> None:
    server, client = _opened_pair()
    disconnect = server.disconnect("error", "boom")
    assert disconnect is not None and disconnect["parameters"] == {"reason": "error",
                                                                   "info": "boom"}
    assert server.receive_audio(bytes(320)) == []
    server.receive_text(json.dumps(client.message("close", {"reason": "disconnect"})))
    assert server.state is State.CLOSED
    assert server.disconnect("error") is None


def test_server_can_ask_for_pause_resume_and_reconnect() -> None:
    server, client = _opened_pair()
    assert server.request_pause()["type"] == "pause"  # type: ignore[index]
    assert server.request_resume()["type"] == "resume"  # type: ignore[index]
    reconnect = server.request_reconnect("draining")
    assert reconnect is not None and reconnect["parameters"] == {"info": "draining"}


@pytest.mark.parametrize("member", ["customConfig", "continuedSessions", "language"])
def test_a_null_optional_open_member_counts_as_absent(member: str) -> None:
    """``customConfig`` is an optional object (``customConfig?: JsonObject`` in Genesys'
    ``protocol/message.ts``). A client that writes ``null`` for it, as serializers do for unset
    members, was disconnected as a protocol error, while a null ``continuedSessions`` or
    ``language`` already counted as absent."""
    client = AudioHookClientState()
    server = AudioHookSession(session_id=client.session_id)
    params = open_parameters(ORG, CONV, None)
    params[member] = None
    msg = server.receive_text(json.dumps(client.message("open", params)))
    assert msg.open is not None
    assert msg.open.custom_config == {} and msg.open.continued_sessions == ()


@pytest.mark.parametrize("custom", [[], "A1", 7, True])
def test_a_custom_config_that_is_not_an_object_is_still_a_protocol_error(custom: object) -> None:
    client = AudioHookClientState()
    server = AudioHookSession(session_id=client.session_id)
    params = open_parameters(ORG, CONV, None)
    params["customConfig"] = custom
    with pytest.raises(ProtocolViolation, match="customConfig must be an object"):
        server.receive_text(json.dumps(client.message("open", params)))
