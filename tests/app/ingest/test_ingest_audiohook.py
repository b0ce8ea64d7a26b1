"""Genesys AudioHook endpoint, driven the way Genesys Cloud drives it."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ingest_fakes import RecordingRegistry, make_app
from starlette.websockets import WebSocketDisconnect

from app.ingest.settings import AdapterSettings, AgentMap
from carecue_sim.audiohook import (
    AudioHookClientState,
    interleave,
    open_parameters,
    upgrade_headers,
)

PATH = "/v1/ingest/audiohook"
URL = "ws://testserver" + PATH
ORG = "d7934305-0972-4844-938e-9060eef73d05"
CONV = "090eaa2f-72fa-480a-83e0-8667ff89c0ec"
API_KEY = "SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh"
SECRET = base64.b64encode(b"TheClientSecretThatGenesysShows!").decode()


@pytest.fixture
def app_registry() -> tuple[Any, RecordingRegistry]:
    return make_app(AdapterSettings(audiohook_api_keys={API_KEY: SECRET, "open-key": ""},
                                    audiohook_reconnect_grace_s=30))


class Genesys:
    """A scripted AudioHook client over the TestClient websocket."""

    def __init__(self, ws: Any, state: AudioHookClientState) -> None:
        self.ws = ws
        self.state = state

    def send(self, type_: str, params: dict[str, Any] | None = None) -> None:
        self.ws.send_text(json.dumps(self.state.message(type_, params)))

    def recv(self) -> dict[str, Any]:
        msg = self.ws.receive_json()
        self.state.saw(msg)
        return msg  # type: ignore[no-any-return]

    def audio(self, caller: bytes, agent: bytes) -> None:
        self.ws.send_bytes(interleave(caller, agent))
        self.state.samples_sent += len(caller)

    def close_after_disconnect(self) -> dict[str, Any]:
        self.send("close", {"reason": "disconnect"})
        closed = self.recv()
        assert closed["type"] == "closed"
        return closed

    def close_after_bad_data(self) -> None:
        """Answer the server's disconnect for bad data; it then closes the socket 1007."""
        self.close_after_disconnect()
        with pytest.raises(WebSocketDisconnect) as done:
            self.ws.receive_text()
        assert done.value.code == 1007


def _connect(client: TestClient, state: AudioHookClientState, secret: str | None = SECRET,
             api_key: str = API_KEY, **headers: str) -> Any:
    hdrs = upgrade_headers(URL, ORG, state.session_id, api_key, secret)
    hdrs.update(headers)
    return client.websocket_connect(PATH, headers=hdrs)


def test_full_session_reaches_the_call(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    client = TestClient(app)
    state = AudioHookClientState()
    with _connect(client, state) as ws:
        g = Genesys(ws, state)
        g.send("open", open_parameters(ORG, CONV, "A7"))
        opened = g.recv()
        assert opened["type"] == "opened" and opened["seq"] == 1 and opened["clientseq"] == 1
        assert opened["parameters"]["media"] == [
            {"type": "audio", "format": "PCMU", "channels": ["external", "internal"],
             "rate": 8000}]
        caller, agent = bytes([0x10]) * 160, bytes([0x90]) * 160
        for _ in range(5):
            g.audio(caller, agent)
        g.send("ping")
        pong = g.recv()
        assert pong["type"] == "pong" and pong["clientseq"] == 2 and pong["seq"] == 2
        g.send("update", {"language": "en-GB"})
        assert g.recv()["type"] == "updated"
        g.audio(caller, agent)
        g.send("close", {"reason": "end"})
        closed = g.recv()
        assert closed["type"] == "closed" and closed["clientseq"] == 4
        with pytest.raises(WebSocketDisconnect) as done:
            ws.receive_text()
        assert done.value.code == 1000
    call = registry.calls[CONV]
    assert call.meta.agent_id == "A7" and call.meta.source == "audiohook"
    assert call.audio("caller") == caller * 6 and call.audio("agent") == agent * 6
    assert {f.encoding for f in call.frames} == {"mulaw"}
    assert call.frames[-1].timestamp_s == pytest.approx(0.1)
    assert call.ended == "end"


def test_unknown_api_key_is_unauthorized(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state, secret=None, api_key="nope") as ws:
        g = Genesys(ws, state)
        msg = g.recv()
        assert msg["type"] == "disconnect"
        assert msg["parameters"]["reason"] == "unauthorized"
        g.close_after_disconnect()
        with pytest.raises(WebSocketDisconnect) as done:
            ws.receive_text()
        assert done.value.code == 1008
    assert registry.opened == []


def test_bad_signature_is_unauthorized(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    state = AudioHookClientState()
    wrong = base64.b64encode(b"not the secret at all, sorry....").decode()
    with _connect(TestClient(app), state, secret=wrong) as ws:
        g = Genesys(ws, state)
        msg = g.recv()
        assert msg["parameters"]["reason"] == "unauthorized"
        assert msg["parameters"]["info"].startswith("FAILED")
        g.close_after_disconnect()
    assert registry.opened == []


def test_unsigned_request_for_a_key_with_secret_is_unauthorized(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state, secret=None) as ws:
        msg = Genesys(ws, state).recv()
        assert msg["parameters"] == {"reason": "unauthorized",
                                     "info": "UNSIGNED: no Signature and Signature-Input header "
                                             "fields"}


def test_signature_over_other_headers_is_unauthorized(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    state = AudioHookClientState()
    # Signed for one correlation id, sent with another: a replayed or altered request.
    with _connect(TestClient(app), state,
                  **{"Audiohook-Correlation-Id": "5e2a8a0c-4a55-4a3c-9f68-2f1c7c2d9a11"}) as ws:
        msg = Genesys(ws, state).recv()
        assert msg["parameters"]["reason"] == "unauthorized"


def test_key_without_secret_and_ingest_token_connect_unsigned(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    token = app.state.signer.create("ingest")
    for key in ("open-key", token):
        state = AudioHookClientState()
        with _connect(TestClient(app), state, secret=None, api_key=key) as ws:
            g = Genesys(ws, state)
            g.send("open", open_parameters(ORG, CONV, "A1"))
            assert g.recv()["type"] == "opened"
            g.send("close", {"reason": "end"})
            assert g.recv()["type"] == "closed"
    assert [c.ended for c in registry.opened] == ["end", "end"]


def test_agent_token_is_not_an_api_key(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, _ = app_registry
    state = AudioHookClientState()
    token = app.state.signer.create("agent", agent_id="A1")
    with _connect(TestClient(app), state, secret=None, api_key=token) as ws:
        assert Genesys(ws, state).recv()["parameters"]["reason"] == "unauthorized"


def test_organization_header_must_match_open(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        g.send("open", open_parameters("8f7e3c1d-1111-4222-8333-444455556666", CONV, "A1"))
        msg = g.recv()
        assert msg["type"] == "disconnect" and msg["parameters"]["reason"] == "unauthorized"
        g.close_after_disconnect()
    assert registry.opened == []


def test_bad_seq_disconnects_that_session_only(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    client = TestClient(app)
    good_state, bad_state = AudioHookClientState(), AudioHookClientState()
    other_conv = "11d6a3a6-3d0e-4b51-9d59-6f0c1a3e2b7c"
    with _connect(client, good_state) as good_ws, _connect(client, bad_state) as bad_ws:
        good, bad = Genesys(good_ws, good_state), Genesys(bad_ws, bad_state)
        good.send("open", open_parameters(ORG, CONV, "A1"))
        bad.send("open", open_parameters(ORG, other_conv, "A2"))
        assert good.recv()["type"] == "opened" and bad.recv()["type"] == "opened"
        good.audio(bytes(160), bytes(160))
        bad.state.seq += 3  # skips sequence numbers
        bad.send("ping")
        msg = bad.recv()
        assert msg["type"] == "disconnect" and msg["parameters"]["reason"] == "error"
        assert "seq" in msg["parameters"]["info"]
        bad.audio(bytes(160), bytes(160))  # in flight after the disconnect: ignored
        bad.close_after_disconnect()
        good.audio(bytes(160), bytes(160))
        good.send("ping")
        assert good.recv()["type"] == "pong"
        good.send("close", {"reason": "end"})
        assert good.recv()["type"] == "closed"
    assert registry.calls[other_conv].ended == "disconnect"
    assert len(registry.calls[other_conv].frames) == 0
    assert registry.calls[CONV].ended == "end"
    assert len(registry.calls[CONV].audio("caller")) == 320


@pytest.mark.parametrize("reason", [None, ["end"], "x" * 5000], ids=["null", "list", "text"])
def test_an_odd_close_reason_after_a_disconnect_ends_the_call_as_disconnect(
    app_registry, reason: Any  # type: ignore[no-untyped-def]
) -> None:
    """After our disconnect only the client's ``close`` matters, and its reason went unchecked
    into the call's end reason: ``null`` ended the call as "None", a list as "['end']", any
    text (5000 characters here) as itself."""
    app, registry = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        g.send("open", open_parameters(ORG, CONV, "A1"))
        assert g.recv()["type"] == "opened"
        state.seq += 3  # skips sequence numbers: the server disconnects
        g.send("ping")
        assert g.recv()["type"] == "disconnect"
        g.send("close", {"reason": reason})
        assert g.recv()["type"] == "closed"
    assert registry.calls[CONV].ended == "disconnect"


def test_wrong_position_is_a_protocol_error(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        g.send("open", open_parameters(ORG, CONV, "A1"))
        g.recv()
        g.audio(bytes(160), bytes(160))
        state.samples_sent += 8000  # claims a second more audio than it sent
        g.send("ping")
        msg = g.recv()
        assert msg["parameters"]["reason"] == "error" and "position" in msg["parameters"]["info"]
        g.close_after_disconnect()


def test_a_duration_with_a_trailing_newline_is_a_protocol_error(app_registry) -> None:  # type: ignore[no-untyped-def]
    """``"rtt": "PT0.1S\\n"`` passed the duration pattern (``$`` matches before a final
    newline), then ``float("0.1S")`` raised and the session closed 1011; it is an invalid
    duration like any other (disconnect reason error, close 1007) and the call ends."""
    app, registry = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        g.send("open", open_parameters(ORG, CONV, "A1"))
        assert g.recv()["type"] == "opened"
        g.send("ping", {"rtt": "PT0.1S\n"})
        msg = g.recv()
        assert msg["type"] == "disconnect" and msg["parameters"]["reason"] == "error"
        assert "invalid duration" in msg["parameters"]["info"]
        g.close_after_bad_data()
    assert registry.calls[CONV].ended == "disconnect"


def test_deeply_nested_json_is_a_protocol_error(app_registry) -> None:  # type: ignore[no-untyped-def]
    """``json.loads`` raises RecursionError, not ValueError, on deep nesting: it was 1011."""
    app, registry = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        ws.send_text("[" * 5000)
        msg = g.recv()
        assert msg["type"] == "disconnect" and "not valid JSON" in msg["parameters"]["info"]
        g.close_after_bad_data()
    assert registry.opened == []


def test_audio_before_open_is_a_protocol_error(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        ws.send_bytes(bytes(320))
        msg = g.recv()
        assert msg["type"] == "disconnect" and "PREPARING" in msg["parameters"]["info"]
        g.close_after_disconnect()
    assert registry.opened == []


def test_unsupported_media_is_refused(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    state = AudioHookClientState()
    params = open_parameters(ORG, CONV, "A1")
    params["media"] = [{"type": "audio", "format": "opus", "channels": ["external"],
                        "rate": 48000}]
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        g.send("open", params)
        msg = g.recv()
        assert msg["type"] == "disconnect" and "no supported media" in msg["parameters"]["info"]
        g.close_after_disconnect()
    assert registry.opened == []


def test_an_offer_with_unhashable_channels_is_skipped_not_a_crash(app_registry) -> None:  # type: ignore[no-untyped-def]
    """``"channels": [["external"]]`` raised TypeError (unhashable) in the media selection and
    the session closed 1011; such an entry is not usable, like any other unsupported one."""
    app, registry = app_registry
    client = TestClient(app)
    bad = {"type": "audio", "format": "PCMU", "channels": [["external"], {}], "rate": 8000}
    good = {"type": "audio", "format": "PCMU", "channels": ["external"], "rate": 8000}
    state = AudioHookClientState()
    params = open_parameters(ORG, CONV, "A1")
    params["media"] = [bad, good]
    with _connect(client, state) as ws:
        g = Genesys(ws, state)
        g.send("open", params)
        opened = g.recv()
        assert opened["type"] == "opened" and opened["parameters"]["media"] == [good]
        g.send("close", {"reason": "end"})
        assert g.recv()["type"] == "closed"
    state = AudioHookClientState()
    params["media"] = [bad]
    other_conv = "11d6a3a6-3d0e-4b51-9d59-6f0c1a3e2b7c"
    params["conversationId"] = other_conv
    with _connect(client, state) as ws:
        g = Genesys(ws, state)
        g.send("open", params)
        msg = g.recv()
        assert msg["type"] == "disconnect" and "no supported media" in msg["parameters"]["info"]
        g.close_after_bad_data()
    assert registry.calls[CONV].ended == "end" and other_conv not in registry.calls


def test_connection_probe_opens_no_call(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        g.send("open", open_parameters(ORG, "00000000-0000-0000-0000-000000000000", None))
        assert g.recv()["type"] == "opened"
        g.audio(bytes(160), bytes(160))
        g.send("close", {"reason": "end"})
        assert g.recv()["type"] == "closed"
    assert registry.opened == []


def test_agent_from_dnis_map_and_missing_agent() -> None:
    settings = AdapterSettings(audiohook_api_keys={"k": ""})
    app, registry = make_app(settings)
    app.state.agent_map = AgentMap.from_obj({"audiohook": {"dnis": {"+18005550100": "A9"}}})
    client = TestClient(app)
    state = AudioHookClientState()
    with _connect(client, state, secret=None, api_key="k") as ws:
        g = Genesys(ws, state)
        g.send("open", open_parameters(ORG, CONV, None, dnis="+18005550100"))
        assert g.recv()["type"] == "opened"
        g.send("close", {"reason": "end"})
        g.recv()
    assert registry.calls[CONV].meta.agent_id == "A9"
    state = AudioHookClientState()
    with _connect(client, state, secret=None, api_key="k") as ws:
        g = Genesys(ws, state)
        g.send("open", open_parameters(ORG, CONV, None, dnis="+18009999999"))
        msg = g.recv()
        assert msg["type"] == "disconnect" and "no agent" in msg["parameters"]["info"]
        g.close_after_disconnect()


@pytest.mark.parametrize("agent_id", [["A1"], True], ids=["list", "true"])
def test_a_custom_config_agent_id_that_is_not_a_string_is_refused(
    app_registry, agent_id: Any  # type: ignore[no-untyped-def]
) -> None:
    """``str()`` made ``["A1"]`` the agent "['A1']" and ``true`` the agent "True"."""
    app, registry = app_registry
    state = AudioHookClientState()
    params = open_parameters(ORG, CONV, None)
    params["customConfig"] = {"agent_id": agent_id}
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        g.send("open", params)
        msg = g.recv()
        assert msg["type"] == "disconnect" and msg["parameters"]["reason"] == "error"
        assert "agent_id" in msg["parameters"]["info"]
        g.close_after_bad_data()
    assert registry.opened == []


def test_reconnect_continues_the_same_call(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    client = TestClient(app)
    first = AudioHookClientState()
    with _connect(client, first) as ws:
        g = Genesys(ws, first)
        g.send("open", open_parameters(ORG, CONV, "A1"))
        g.recv()
        g.audio(b"\x01" * 800, b"\x02" * 800)
        g.send("close", {"reason": "reconnect"})
        assert g.recv()["type"] == "closed"
    call = registry.calls[CONV]
    assert call.ended is None
    second = AudioHookClientState()
    with _connect(client, second) as ws:
        g = Genesys(ws, second)
        params = open_parameters(ORG, CONV, "A1")
        params["continuedSessions"] = [{"id": first.session_id, "serverseq": first.serverseq,
                                        "clientseq": first.seq}]
        g.send("open", params)
        assert g.recv()["type"] == "opened"
        g.audio(b"\x03" * 160, b"\x04" * 160)
        g.send("close", {"reason": "end"})
        g.recv()
    assert registry.opened == [call]
    assert call.audio("caller") == b"\x01" * 800 + b"\x03" * 160
    assert call.frames[-1].timestamp_s == pytest.approx(0.1)  # continues the timeline
    assert call.ended == "end"


def test_drain_asks_for_reconnect_and_the_call_continues() -> None:
    from app.ingest.audiohook import drain_audiohook

    app, registry = make_app(AdapterSettings(audiohook_api_keys={API_KEY: SECRET}))
    with TestClient(app) as client:
        first = AudioHookClientState()
        with _connect(client, first) as ws:
            g = Genesys(ws, first)
            g.send("open", open_parameters(ORG, CONV, "A1"))
            g.recv()
            g.audio(b"\x01" * 160, b"\x02" * 160)
            # The instance is going away: it asks Genesys to move the session elsewhere.
            drained = client.portal.start_task_soon(drain_audiohook, app)  # type: ignore[union-attr]
            reconnect = g.recv()
            assert reconnect["type"] == "reconnect" and reconnect["seq"] == 2
            g.send("close", {"reason": "reconnect"})
            assert g.recv()["type"] == "closed"
        assert drained.result(10) == 1
        call = registry.calls[CONV]
        assert call.ended is None
        second = AudioHookClientState()
        with _connect(client, second) as ws:
            g = Genesys(ws, second)
            params = open_parameters(ORG, CONV, "A1")
            params["continuedSessions"] = [{"id": first.session_id, "serverseq": 3,
                                            "clientseq": first.seq}]
            g.send("open", params)
            assert g.recv()["type"] == "opened"
            g.send("close", {"reason": "end"})
            g.recv()
    assert registry.opened == [call] and call.ended == "end"


def test_dropped_socket_keeps_the_call_for_the_grace_period_only() -> None:
    import time

    app, registry = make_app(AdapterSettings(audiohook_api_keys={API_KEY: SECRET},
                                             audiohook_reconnect_grace_s=0.2))
    with TestClient(app) as client:
        state = AudioHookClientState()
        with _connect(client, state) as ws:
            g = Genesys(ws, state)
            g.send("open", open_parameters(ORG, CONV, "A1"))
            g.recv()
            g.audio(bytes(160), bytes(160))
        # The socket dropped without close: the call waits for a reconnect...
        call = registry.calls[CONV]
        for _ in range(100):
            if call.ended is not None:
                break
            time.sleep(0.02)
    # ...and ends when none comes within the grace period.
    assert call.ended == "reconnect_timeout"


# -- what Genesys' reference client really sends (purecloudlabs/audiohook-reference-implementation)


def _ah_message(state: AudioHookClientState, type_: str, position: str,
                params: dict[str, Any] | None = None) -> str:
    """A client message with an explicit ``position`` (the client's own clock, not ours)."""
    msg = state.message(type_, params)
    msg["position"] = position
    return json.dumps(msg)


def test_long_pause_keeps_the_session(app_registry) -> None:  # type: ignore[no-untyped-def]
    """The reference client's media timer runs while paused: pings during a pause carry a
    later position, and ``resumed`` declares ``start`` + ``discarded`` (its tone source)."""
    app, registry = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        g.send("open", open_parameters(ORG, CONV, "A1"))
        assert g.recv()["type"] == "opened"
        for _ in range(100):  # 2 s
            g.audio(b"\x11" * 160, b"\x22" * 160)
        ws.send_text(_ah_message(state, "paused", "PT2S"))
        ws.send_text(_ah_message(state, "ping", "PT6S", {"rtt": "PT0.012S"}))
        assert g.recv()["type"] == "pong"
        ws.send_text(_ah_message(state, "ping", "PT8.02S"))
        assert g.recv()["type"] == "pong"
        ws.send_text(_ah_message(state, "resumed", "PT8.04S",
                                 {"start": "PT2S", "discarded": "PT6.04S"}))
        for _ in range(50):  # 1 s more
            g.audio(b"\x33" * 160, b"\x44" * 160)
        ws.send_text(_ah_message(state, "ping", "PT9.04S"))
        assert g.recv()["type"] == "pong"
        ws.send_text(_ah_message(state, "close", "PT9.04S", {"reason": "end"}))
        assert g.recv()["type"] == "closed"
    call = registry.calls[CONV]
    assert call.ended == "end"
    assert len(call.audio("caller")) == 150 * 160
    after = [f for f in call.frames if f.data[:1] == b"\x33"]
    # Audio after the pause sits on the call's timeline after the discarded stretch.
    assert after[0].timestamp_s == pytest.approx(8.04)


def test_position_during_a_pause_still_never_goes_backwards(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, _ = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        g.send("open", open_parameters(ORG, CONV, "A1"))
        g.recv()
        g.audio(bytes(160), bytes(160))
        ws.send_text(_ah_message(state, "paused", "PT0.02S"))
        ws.send_text(_ah_message(state, "ping", "PT5S"))
        assert g.recv()["type"] == "pong"
        ws.send_text(_ah_message(state, "ping", "PT3S"))
        msg = g.recv()
        assert msg["type"] == "disconnect" and "backwards" in msg["parameters"]["info"]
        g.close_after_disconnect()


def test_discard_to_declared_with_discarded_keeps_the_session(app_registry) -> None:  # type: ignore[no-untyped-def]
    """A client that skips audio (``discardTo``) sends ``discarded`` with the position after
    the skip, then audio from there on."""
    app, registry = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        g.send("open", open_parameters(ORG, CONV, "A1"))
        g.recv()
        ws.send_text(_ah_message(state, "discarded", "PT1.5S",
                                 {"start": "PT0S", "discarded": "PT1.5S"}))
        g.audio(b"\x55" * 160, b"\x66" * 160)
        ws.send_text(_ah_message(state, "ping", "PT1.52S"))
        assert g.recv()["type"] == "pong"
        ws.send_text(_ah_message(state, "close", "PT1.52S", {"reason": "end"}))
        assert g.recv()["type"] == "closed"
    assert registry.calls[CONV].frames[0].timestamp_s == pytest.approx(1.5)


def test_zero_length_audio_frame_is_accepted(app_registry) -> None:  # type: ignore[no-untyped-def]
    app, registry = app_registry
    state = AudioHookClientState()
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        g.send("open", open_parameters(ORG, CONV, "A1"))
        g.recv()
        ws.send_bytes(b"")
        g.audio(bytes(160), bytes(160))
        ws.send_bytes(b"")
        g.send("ping")
        assert g.recv()["type"] == "pong"
        g.send("close", {"reason": "end"})
        assert g.recv()["type"] == "closed"
    call = registry.calls[CONV]
    assert call.ended == "end" and len(call.audio("caller")) == 160
    assert all(f.data for f in call.frames)


def test_internal_only_offer_carries_the_agent_track(app_registry) -> None:  # type: ignore[no-untyped-def]
    """An offer of only ``internal`` is selected as offered; its audio is the agent's."""
    app, registry = app_registry
    state = AudioHookClientState()
    params = open_parameters(ORG, CONV, "A1")
    params["media"] = [{"type": "audio", "format": "PCMU", "channels": ["internal"],
                        "rate": 8000}]
    with _connect(TestClient(app), state) as ws:
        g = Genesys(ws, state)
        g.send("open", params)
        opened = g.recv()
        assert opened["type"] == "opened"
        assert opened["parameters"]["media"] == params["media"]
        ws.send_bytes(b"\x77" * 160)
        state.samples_sent += 160
        g.send("ping")
        assert g.recv()["type"] == "pong"
        g.send("close", {"reason": "end"})
        assert g.recv()["type"] == "closed"
    call = registry.calls[CONV]
    assert call.meta.tracks == ("agent",)
    assert call.audio("agent") == b"\x77" * 160 and call.ended == "end"


def test_api_keys_must_have_the_genesys_format() -> None:
    from pydantic import ValidationError

    AdapterSettings(audiohook_api_keys={"SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh": "", "a_b-c+d/e==": ""})
    with pytest.raises(ValidationError, match="API key"):
        AdapterSettings(audiohook_api_keys={"v1.abc.def": ""})


def _wait_until(cond, limit_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + limit_s
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)


def _open_session(client: TestClient, state: AudioHookClientState, stack: Any,
                  continued: AudioHookClientState | None = None) -> Genesys:
    g = Genesys(stack.enter_context(_connect(client, state)), state)
    params = open_parameters(ORG, CONV, "A1")
    if continued is not None:
        params["continuedSessions"] = [{"id": continued.session_id,
                                        "serverseq": continued.serverseq,
                                        "clientseq": continued.seq}]
    g.send("open", params)
    assert g.recv()["type"] == "opened"
    return g


def test_two_dropped_sessions_of_one_conversation_both_end_after_the_grace() -> None:
    """Issue 15 (High 4): the second parked session overwrote the first, which never ended
    and held its call slot until a restart."""
    from contextlib import ExitStack

    app, registry = make_app(AdapterSettings(audiohook_api_keys={API_KEY: SECRET},
                                             audiohook_reconnect_grace_s=0.2))
    with TestClient(app) as client:
        with ExitStack() as stack:  # both sockets drop, without close, when the block ends
            for _ in range(2):
                _open_session(client, AudioHookClientState(), stack).audio(bytes(160),
                                                                           bytes(160))
        assert len(registry.opened) == 2
        _wait_until(lambda: all(c.ended is not None for c in registry.opened))
        assert [c.ended for c in registry.opened] == ["reconnect_timeout"] * 2
        assert all(registry.get(c.call_id) is None for c in registry.opened)  # slots free
        assert len(app.state.audiohook_parked) == 0


def test_each_dropped_session_is_continued_by_the_session_that_names_it() -> None:
    from contextlib import ExitStack

    app, registry = make_app(AdapterSettings(audiohook_api_keys={API_KEY: SECRET},
                                             audiohook_reconnect_grace_s=30))
    with TestClient(app) as client:
        first, second = AudioHookClientState(), AudioHookClientState()
        with ExitStack() as stack:
            _open_session(client, first, stack).audio(b"\x01" * 160, b"\x01" * 160)
            _open_session(client, second, stack).audio(b"\x02" * 160, b"\x02" * 160)
        calls = {c.meta.custom["session_id"]: c for c in registry.opened}
        assert all(c.ended is None for c in calls.values())
        # Genesys reconnects them in the other order; each names the session it continues.
        with ExitStack() as stack:
            g2 = _open_session(client, AudioHookClientState(), stack, continued=second)
            g2.audio(b"\x04" * 160, b"\x04" * 160)
            g1 = _open_session(client, AudioHookClientState(), stack, continued=first)
            g1.audio(b"\x03" * 160, b"\x03" * 160)
            for g in (g1, g2):
                g.send("close", {"reason": "end"})
                assert g.recv()["type"] == "closed"
    assert len(registry.opened) == 2
    assert calls[first.session_id].audio("caller") == b"\x01" * 160 + b"\x03" * 160
    assert calls[second.session_id].audio("caller") == b"\x02" * 160 + b"\x04" * 160
    assert all(c.ended == "end" for c in registry.opened)
