"""Token ids, revocation (``carecue token revoke``) and the event sockets' first-message auth.

Revocations are written by the real CLI into the deployment's database (SQLite, and real
PostgreSQL shared by two service instances) and picked up by the servers' periodic reload.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from app.auth import AuthError, TokenSigner, legacy_token_id
from app.cli import token as token_cmd
from app.store import Store
from tests.app.service_helpers import (
    SECRET,
    Live,
    eventually,
    live,
    read_until,
    recv_json,
    serving,
    tok,
    twilio_start,
    twilio_stop,
)
from tests.app.store_backends import database_url

BACKENDS = ["sqlite", "postgres"]
cli = typer.Typer(rich_markup_mode=None)
token_cmd.register(cli)
REFRESH = {"revocation_refresh_s": 0.1}
# How long a test waits for a reload to reach a server (a limit, not a measurement).
WAIT_S = 20.0


def _revoke(tmp: Path, token_or_id: str, database_url: str | None = None) -> Any:
    env = {"CARECUE_AUTH_SECRET": SECRET, "CARECUE_DATA_DIR": str(tmp),
           "CARECUE_DATABASE_URL": database_url or ""}
    result = CliRunner().invoke(cli, ["token", "revoke", token_or_id, "--reason", "test"], env=env)
    assert result.exit_code == 0, result.output
    return result


def _claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))  # type: ignore[no-any-return]


def _jti(token: str) -> str:
    return str(_claims(token)["jti"])


def _until(check: Any) -> None:
    assert eventually(check, bool, WAIT_S), "condition not met in time"


def _closed_with(ws: ClientConnection, code: str) -> None:
    """The socket gets ``{"type":"error","code":code}`` and a 1008 close."""
    while True:
        msg = recv_json(ws, timeout=WAIT_S)
        if msg["type"] == "error":
            assert msg["code"] == code, msg
            break
    with pytest.raises(ConnectionClosed) as exc:
        ws.recv(timeout=WAIT_S)
    assert exc.value.rcvd is not None and exc.value.rcvd.code == 1008
    assert exc.value.rcvd.reason == code


@contextmanager
def _socket(s: Live, path: str, token: str) -> Iterator[ClientConnection]:
    """An event socket authenticated by its first message (as the pages do)."""
    with connect(f"{s.ws_base}{path}", open_timeout=30, max_size=None) as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        yield ws


# ---- token ids ----------------------------------------------------------------------------

def test_every_token_has_its_own_id_and_old_tokens_a_digest() -> None:
    signer = TokenSigner(SECRET)
    a, b = signer.create("agent", agent_id="A1"), signer.create("agent", agent_id="A1")
    ids = {signer.verify(a).token_id, signer.verify(b).token_id}
    assert len(ids) == 2 and ids == {_jti(a), _jti(b)}
    # A token minted before ids: same claims, no jti.
    payload = base64.urlsafe_b64encode(json.dumps({"role": "admin", "iat": 1}).encode())
    body = "cc1." + payload.decode().rstrip("=")
    old = f"{body}.{signer._sign(body)}"
    assert signer.verify(old).token_id == legacy_token_id(old)
    revoking = TokenSigner(SECRET, revoked={legacy_token_id(old), _jti(a)})
    for token in (old, a):
        with pytest.raises(AuthError) as exc:
            revoking.verify(token)
        assert exc.value.code == "token_revoked"
    assert revoking.verify(b).agent_id == "A1"


# ---- the store ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", BACKENDS)
def test_revocations_are_stored_once_and_expire_with_their_token(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as url:
        store = Store(url)
        try:
            store.migrate()
            repo = store.repo
            now = datetime.now(UTC)
            assert repo.revoke_token("live-1", expires_at=now + timedelta(hours=1), role="agent",
                                     agent_id="A1", reason="lost laptop")
            assert not repo.revoke_token("live-1")  # twice is once
            assert repo.revoke_token("forever")
            assert repo.revoke_token("gone", expires_at=now - timedelta(seconds=1))
            assert repo.revoked_token_ids() == {"live-1", "forever"}
            rows = {r["token_id"]: r for r in repo.token_revocations()}
            assert rows["live-1"]["agent_id"] == "A1" and rows["live-1"]["reason"] == "lost laptop"
            assert rows["forever"]["expires_at"] is None
            assert repo.prune_token_revocations() == 1
            assert {r["token_id"] for r in repo.token_revocations()} == {"live-1", "forever"}
        finally:
            store.engine.dispose()


@pytest.mark.parametrize("kind", BACKENDS)
def test_the_revocations_migration_goes_up_and_down(kind: str, tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from app.store.db import alembic_config

    with database_url(kind, tmp_path) as url:
        store = Store(url)
        try:
            store.migrate()
            assert "token_revocations" in inspect(store.engine).get_table_names()
            cfg = alembic_config()
            with store.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "0001")
            assert "token_revocations" not in inspect(store.engine).get_table_names()
            assert "calls" in inspect(store.engine).get_table_names()
            store.migrate()
            assert "token_revocations" in inspect(store.engine).get_table_names()
        finally:
            store.engine.dispose()


# ---- revocation in a running service ------------------------------------------------------

def test_a_revoked_token_is_refused_on_http_websockets_and_ingest(tmp_path: Path) -> None:
    agent, other = tok("agent", "A1"), tok("agent", "A1")
    ingest = tok("ingest")
    with live(tmp_path, **REFRESH) as s:
        assert s.get("/v1/calls", agent).status_code == 200
        out = _revoke(tmp_path, agent)
        assert _jti(agent) in out.stderr and "agent token for agent A1" in out.stderr
        _revoke(tmp_path, _jti(ingest))  # by id, as `token create` printed it
        _until(lambda: s.get("/v1/calls", agent).status_code == 401)
        _until(lambda: _jti(ingest) in s.app.state.revocations)
        resp = s.get("/v1/calls", agent)
        assert resp.json()["detail"]["code"] == "token_revoked"
        assert s.get("/v1/calls", other).status_code == 200  # only that token, not the agent

        with _socket(s, "/v1/agents/A1/events", agent) as ws:
            _closed_with(ws, "token_revoked")
        with s.ws("/v1/agents/A1/events", agent) as ws:  # bearer header
            _closed_with(ws, "token_revoked")
        with connect(f"{s.ws_base}/v1/supervisor/events?token={agent}") as ws:
            _closed_with(ws, "token_revoked")
        with s.ws("/v1/ingest/twilio", ingest) as tw:
            _closed_with(tw, "token_revoked")
        with _socket(s, "/v1/agents/A1/events", other) as ws:
            assert recv_json(ws)["type"] == "auth.ok"


def test_an_open_event_socket_is_closed_when_its_token_is_revoked(tmp_path: Path) -> None:
    agent, supervisor = tok("agent", "A1"), tok("supervisor")
    with live(tmp_path, **REFRESH) as s:
        with _socket(s, "/v1/agents/A1/events", agent) as ws, \
                s.ws("/v1/supervisor/events", supervisor) as board, \
                s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
            assert recv_json(ws)["type"] == "auth.ok"
            tw.send(twilio_start("CA-rev", "A1"))
            assert read_until(ws, lambda e: e["type"] == "call.started")[-1]["call_id"] == "CA-rev"
            _revoke(tmp_path, agent)
            _closed_with(ws, "token_revoked")
            # The call and the other sockets carry on.
            tw.send(twilio_stop("CA-rev"))
            assert read_until(board, lambda e: e["type"] == "call.ended")[-1]["call_id"] == "CA-rev"


def test_an_open_event_socket_is_closed_when_its_token_expires(tmp_path: Path) -> None:
    with live(tmp_path) as s:
        short = TokenSigner(SECRET).create("supervisor", ttl_s=3)
        with _socket(s, "/v1/supervisor/events", short) as ws:
            ok = recv_json(ws)
            assert ok["type"] == "auth.ok" and ok["expires_at"] == _claims(short)["exp"]
            _closed_with(ws, "token_expired")


def test_two_instances_on_one_postgres_both_refuse_a_revoked_token(tmp_path: Path) -> None:
    from app.main import create_app
    from tests.app.fakes import fake_components
    from tests.app.service_helpers import make_settings

    with database_url("postgres", tmp_path) as url:
        apps = [
            create_app(make_settings(tmp_path / f"i{i}", database_url=url, **REFRESH),
                       components_factory=fake_components())
            for i in range(2)
        ]
        with serving(apps[0]) as one, serving(apps[1]) as two:
            agent = tok("agent", "A7")
            assert {one.get("/v1/calls", agent).status_code,
                    two.get("/v1/calls", agent).status_code} == {200}
            _revoke(tmp_path / "cli", agent, database_url=url)
            for s in (one, two):
                _until(lambda s=s: s.get("/v1/calls", agent).status_code == 401)  # type: ignore[misc]
        env = {"CARECUE_AUTH_SECRET": SECRET, "CARECUE_DATA_DIR": str(tmp_path / "cli"),
               "CARECUE_DATABASE_URL": url}
        listed = CliRunner().invoke(cli, ["token", "list-revoked"], env=env)
        assert listed.exit_code == 0 and _jti(agent) in listed.stdout
        assert "\tagent\tA7\t" in listed.stdout


def test_token_ids_can_be_passed_to_the_cli_as_printed() -> None:
    """An id starting with '-' would be read by the CLI as an option (exit 2, 'No such option')."""
    signer = TokenSigner(SECRET)
    ids = {str(signer.decode(signer.create("supervisor")).token_id) for _ in range(2000)}
    assert len(ids) == 2000
    assert not [token_id for token_id in ids if token_id.startswith("-")]


def test_an_old_id_starting_with_a_dash_is_revoked_after_a_double_dash(tmp_path: Path) -> None:
    env = {"CARECUE_AUTH_SECRET": SECRET, "CARECUE_DATA_DIR": str(tmp_path),
           "CARECUE_DATABASE_URL": ""}
    result = CliRunner().invoke(cli, ["token", "revoke", "--", "-Qx3vB1_k2LmNoPqr"], env=env)
    assert result.exit_code == 0, result.output
    listed = CliRunner().invoke(cli, ["token", "list-revoked"], env=env)
    assert "-Qx3vB1_k2LmNoPqr" in listed.stdout


def test_revoke_says_what_it_did_and_refuses_a_foreign_token(tmp_path: Path) -> None:
    env = {"CARECUE_AUTH_SECRET": SECRET, "CARECUE_DATA_DIR": str(tmp_path),
           "CARECUE_DATABASE_URL": ""}
    token = tok("supervisor")
    first = CliRunner().invoke(cli, ["token", "revoke", token], env=env)
    assert first.exit_code == 0 and "refuse it within 10 s" in first.stderr
    again = CliRunner().invoke(cli, ["token", "revoke", _jti(token)], env=env)
    assert again.exit_code == 0 and "revoked already" in again.stderr
    foreign = TokenSigner("another-deployment-secret-0123").create("admin")
    bad = CliRunner().invoke(cli, ["token", "revoke", foreign], env=env)
    assert bad.exit_code == 2 and "not a token of this deployment" in bad.stderr
    odd = CliRunner().invoke(cli, ["token", "revoke", "no spaces allowed"], env=env)
    assert odd.exit_code == 2
    expired = TokenSigner(SECRET).create("agent", agent_id="A9", ttl_s=3600)
    assert CliRunner().invoke(cli, ["token", "revoke", expired], env=env).exit_code == 0
    listed = CliRunner().invoke(cli, ["token", "list-revoked"], env=env)
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [
        _jti(expired), _jti(token)]
    assert "\tagent\tA9\t" in listed.stdout


# ---- the first-message handshake ----------------------------------------------------------

@pytest.fixture(scope="module")
def quick_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server whose sockets must authenticate within 10 s: room for a loaded machine."""
    with live(tmp_path_factory.mktemp("auth"), ws_auth_timeout_s=10.0) as s:
        yield s


@pytest.fixture(scope="module")
def impatient_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server that closes a socket still silent after 0.5 s (to see the timeout itself)."""
    with live(tmp_path_factory.mktemp("auth-timeout"), ws_auth_timeout_s=0.5) as s:
        yield s


def _call_reaches_agent(tw: Any, ws: Any, call_id: str, agent: str) -> None:
    """A Twilio call for ``agent`` starts and ends on the agent's event socket."""
    tw.send(twilio_start(call_id, agent))
    assert read_until(ws, lambda e: e["type"] == "call.started")[-1]["call_id"] == call_id
    tw.send(twilio_stop(call_id))
    read_until(ws, lambda e: e["type"] == "call.ended")


def test_the_first_message_authenticates_and_events_follow(quick_auth: Live) -> None:
    s = quick_auth
    with _socket(s, "/v1/agents/A2/events", tok("agent", "A2")) as ws, \
            s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
        ok = recv_json(ws)
        assert ok["type"] == "auth.ok" and ok["role"] == "agent"
        _call_reaches_agent(tw, ws, "CA-first", "A2")


def test_deeply_nested_json_after_auth_is_an_error_and_the_stream_goes_on(
    quick_auth: Live,
) -> None:
    """``json.loads`` raises RecursionError, not ValueError, on deep nesting: the agent's
    socket was dropped with 1011 instead of answered like any malformed message."""
    s = quick_auth
    with _socket(s, "/v1/agents/A2/events", tok("agent", "A2")) as ws, \
            s.ws("/v1/ingest/twilio", tok("ingest")) as tw:
        assert recv_json(ws)["type"] == "auth.ok"
        ws.send("[" * 1500)
        error = recv_json(ws)
        assert error["type"] == "error" and error["code"] == "malformed_json"
        _call_reaches_agent(tw, ws, "CA-deep", "A2")


def test_a_socket_that_says_nothing_is_closed_1008_when_its_time_is_up(
    impatient_auth: Live,
) -> None:
    with connect(f"{impatient_auth.ws_base}/v1/supervisor/events", open_timeout=30) as ws:
        _closed_with(ws, "auth_timeout")


@pytest.mark.parametrize(
    ("first", "code"),
    [
        ('{"type": "nudge.feedback", "nudge_id": "x", "action": "accepted"}', "auth_required"),
        ('{"type": "auth", "token": 42}', "auth_required"),
        ("not json", "auth_required"),
        # nested too deep for json.loads: was a 1011
        pytest.param("[" * 1500, "auth_required", id="nested-too-deep"),
        ('{"type": "auth", "token": "cc1.forged.sig"}', "bad_token"),
    ],
)
def test_a_socket_that_does_not_authenticate_is_closed_1008(
    quick_auth: Live, first: str, code: str
) -> None:
    with connect(f"{quick_auth.ws_base}/v1/supervisor/events", open_timeout=30) as ws:
        ws.send(first)
        _closed_with(ws, code)


def test_an_agent_token_by_message_cannot_open_another_agents_stream(quick_auth: Live) -> None:
    with _socket(quick_auth, "/v1/agents/A1/events", tok("agent", "A2")) as ws:
        _closed_with(ws, "forbidden")


def test_the_query_token_still_works_for_existing_integrations(impatient_auth: Live) -> None:
    url = f"{impatient_auth.ws_base}/v1/supervisor/events?token={tok('supervisor')}"
    with connect(url, open_timeout=30) as ws, pytest.raises(TimeoutError):
        ws.recv(timeout=1.0)  # open, quiet, and no auth message is expected


def test_http_refuses_a_revoked_token_with_401(tmp_path: Path) -> None:
    token = tok("supervisor")
    with live(tmp_path, **REFRESH) as s:
        _revoke(tmp_path, token)
        _until(lambda: s.get("/metrics", token).status_code == 401)
        assert httpx.get(f"{s.http}/healthz").status_code == 200
