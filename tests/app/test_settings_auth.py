"""Configuration from the environment and .env, and token signing and checking."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.auth import AuthError, TokenSigner, authenticate, token_from
from app.settings import Settings

SECRET = "unit-secret-0123456789abcdef"


def test_settings_from_env_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CARECUE_PORT=9123\nCARECUE_ASR_ENGINE=vosk\n")
    monkeypatch.setenv("CARECUE_PORT", "9999")  # the environment wins over .env
    monkeypatch.setenv("CARECUE_DATA_DIR", str(tmp_path / "d"))
    s = Settings()
    assert s.port == 9999 and s.asr_engine == "vosk"
    assert s.resolved_database_url() == f"sqlite:///{(tmp_path / 'd' / 'carecue.db').resolve()}"
    assert (
        Settings(database_url="postgresql+psycopg://x@h/db")
        .resolved_database_url()
        .startswith("postgresql")
    )
    assert Settings(host="0.0.0.0", port=8000).base_url() == "http://127.0.0.1:8000"


_ADAPTER_VARS = ("CARECUE_AUDIOSOCKET_PORT", "CARECUE_AUDIOHOOK_API_KEYS", "CARECUE_FORK_MIX_TYPE")


def test_dotenv_sets_the_adapter_settings_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi import FastAPI

    from app.ingest.context import adapter_settings

    monkeypatch.chdir(tmp_path)
    for name in _ADAPTER_VARS:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        "CARECUE_AUDIOSOCKET_PORT=9092\n"
        'CARECUE_AUDIOHOOK_API_KEYS={"key1": "c2VjcmV0"}\n'
        "CARECUE_FORK_MIX_TYPE=stereo\n"
    )
    monkeypatch.setenv("CARECUE_FORK_MIX_TYPE", "mono")  # the environment wins over .env
    settings = Settings()
    app = FastAPI()
    app.state.settings = settings
    adapters = adapter_settings(app)  # what the AudioSocket listener and AudioHook read
    assert adapters is settings.adapters
    assert adapters.audiosocket_port == 9092
    assert adapters.audiohook_api_keys == {"key1": "c2VjcmV0"}
    assert adapters.fork_mix_type == "mono"


def test_bad_adapter_setting_fails_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in _ADAPTER_VARS:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text('CARECUE_AUDIOHOOK_API_KEYS={"key1": "not base64!"}\n')
    with pytest.raises(ValidationError, match="not base64"):
        Settings()
    (tmp_path / ".env").write_text("CARECUE_AUDIOSOCKET_PORT=many\n")
    with pytest.raises(ValidationError, match="audiosocket_port"):
        Settings()


def test_bad_settings_fail_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARECUE_ASR_ENGINE", "siri")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.delenv("CARECUE_ASR_ENGINE")
    with pytest.raises(ValidationError):
        Settings(max_frame_bytes=10)


def test_token_roundtrip_and_tampering() -> None:
    signer = TokenSigner(SECRET)
    token = signer.create("agent", agent_id="A1", subject="alice")
    p = signer.verify(token)
    assert (p.role, p.agent_id, p.subject) == ("agent", "A1", "alice")
    assert p.may_see_agent("A1") and not p.may_see_agent("A2") and not p.sees_all_calls
    head, body, sig = token.split(".")
    forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    for bad in (f"{head}.{forged_body}.{sig}", f"{head}.{body}.{sig[:-1]}x", "cc1.x", "Bearer"):
        with pytest.raises(AuthError) as exc:
            signer.verify(bad)
        assert exc.value.code == "bad_token"
    with pytest.raises(AuthError):
        TokenSigner(SECRET + "other").verify(token)  # another deployment's secret


def test_expiry_and_roles() -> None:
    signer = TokenSigner(SECRET)
    expired = signer.create("supervisor", ttl_s=-1)
    with pytest.raises(AuthError) as exc:
        signer.verify(expired)
    assert exc.value.code == "token_expired"
    fresh = signer.create("supervisor", ttl_s=60)
    assert signer.verify(fresh).sees_all_calls
    with pytest.raises(AuthError) as exc:
        authenticate(signer, signer.create("agent", agent_id="A1"), ("ingest", "admin"))
    assert exc.value.code == "forbidden"
    with pytest.raises(AuthError) as exc:
        authenticate(signer, None, ("admin",))
    assert exc.value.code == "missing_token"
    with pytest.raises(ValueError):
        signer.create("agent")  # an agent token names its agent
    with pytest.raises(ValueError):
        TokenSigner("short")


def test_token_sources() -> None:
    assert token_from("Bearer abc", "q") == "abc"
    assert token_from("bearer  abc ", None) == "abc"
    assert token_from("Basic xyz", "q") == "q"
    assert token_from(None, None) is None


async def test_revocations_reload_and_keep_what_they_know_when_the_database_is_away() -> None:
    """The cached set fails closed: a reload that cannot read the database keeps every id it
    had, and a socket watching a token hears of its revocation at the reload that sees it."""
    from app.revocation import Revocations

    rows: set[str] = {"old"}
    away = False

    def load() -> set[str]:
        if away:
            raise OSError("connection refused")
        return set(rows)

    revoked = Revocations(load, refresh_s=10)
    assert await revoked.refresh() == {"old"} and "old" in revoked
    signer = TokenSigner(SECRET, revoked=revoked)
    token = signer.create("agent", agent_id="A1")
    principal = signer.verify(token)
    with revoked.watch(principal.token_id) as event:
        rows.add(str(principal.token_id))
        away = True
        assert await revoked.refresh() == set() and revoked.load_failures == 1
        assert "old" in revoked and not event.is_set()  # nothing revoked comes back
        away = False
        assert await revoked.refresh() == {principal.token_id}
        assert event.is_set()
    with pytest.raises(AuthError) as exc:
        signer.verify(token)
    assert exc.value.code == "token_revoked"
    with revoked.watch(principal.token_id) as late:  # a socket opened after the revocation
        assert late.is_set()
