"""What a newcomer meets first on the command line: help, --version, ``serve``'s banner and
pages, a busy port, tokens that expire, and a data folder outside the current directory."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.cli import token as token_cmd

token_cmd.register(cli)
ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from app.cli import main; main()"]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def _run(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=_env(**env)
    )


def _claims(token: str) -> dict[str, object]:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))  # type: ignore[no-any-return]


@pytest.fixture()
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


# ---- help and version --------------------------------------------------------------------------

def test_version_flag_prints_the_version() -> None:
    from importlib.metadata import version

    out = _run("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"carecue {version('carecue')}"


@pytest.mark.parametrize(
    "command", [[], ["serve"], ["demo"], ["simulate"], ["token", "create"], ["transcribe"],
                ["contract"], ["models"], ["classify"], ["playbook", "explain"]]
)
def test_help_shows_no_bool_placeholders(command: list[str]) -> None:
    out = _run(*command, "--help")
    assert out.returncode == 0, out.stderr
    assert "--help" in out.stdout
    assert "<bool>" not in out.stdout


def test_simulate_help_lists_every_protocol() -> None:
    from app.cli.simulate import PROTOCOL_NAMES
    from carecue_sim import PROTOCOLS

    assert set(PROTOCOL_NAMES) == set(PROTOCOLS)
    out = _run("simulate", "--help").stdout
    for name in PROTOCOLS:
        assert name in out.split("--protocol", 1)[1].split("--agent-id", 1)[0]


def test_simulate_refuses_an_unknown_protocol(tmp_path: Path) -> None:
    script = tmp_path / "call.yaml"
    script.write_text("turns: []\n")
    out = _run("simulate", "--script", str(script), "--token", "t", "--protocol", "sip")
    assert out.returncode == 2
    assert "twilio" in out.stderr


def test_demo_agent_id_has_help_text() -> None:
    out = _run("demo", "--help").stdout
    block = out.split("--agent-id", 1)[1].split("--ready-timeout", 1)[0]
    assert "agent" in block.lower().replace("--agent-id", "")


def test_vosk_error_does_not_ask_to_install_an_installed_vosk() -> None:
    import importlib.util

    from asr.engines.registry import load_engine

    assert importlib.util.find_spec("vosk") is not None  # a dependency of the package
    with pytest.raises(Exception) as info:
        load_engine("vosk", vosk_model_dir=None)
    message = str(info.value)
    assert "CARECUE_VOSK_MODEL_DIR" in message and "docs/asr/vosk-english.md" in message
    assert "pip install vosk" not in message


# ---- serve ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_serve_prints_a_banner_and_answers_home_and_favicon(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", "0", "--data-dir", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=_env(CARECUE_AUTH_SECRET="", CARECUE_LOG_LEVEL="WARNING"),
    )
    # Without a banner the read below would wait forever: stop the server after a generous while.
    watchdog = threading.Timer(180, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        banner: list[str] = []
        for line in proc.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C"):
                break
        text = "\n".join(banner)
        assert banner, "serve printed nothing"
        first = banner[0]
        assert first.startswith("CareCue ") and " is listening on http://127.0.0.1:" in first, text
        base = first.rsplit(" ", 1)[1]
        assert f"{base}/agent?token=" in text and f"{base}/supervisor?token=" in text
        assert f"CARECUE_DATA_DIR={data} carecue token create --role agent" in text
        assert "12 h" in text

        home = httpx.get(f"{base}/", timeout=10)
        assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
        for href in ('href="/agent"', 'href="/supervisor"', 'href="/docs"'):
            assert href in home.text
        icon = httpx.get(f"{base}/favicon.ico", timeout=10)
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
        assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO header
        assert httpx.get(f"{base}/favicon.svg", timeout=10).status_code == 200
        assert httpx.get(f"{base}/web/home.js", timeout=10).status_code == 200
    finally:
        watchdog.cancel()
        proc.terminate()
        proc.wait(30)


@pytest.mark.slow
def test_serve_dev_token_lasts_a_working_day_and_says_until_when(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", "0", "--data-dir", str(tmp_path / "data"), "--dev-token"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env=_env(CARECUE_AUTH_SECRET="", CARECUE_LOG_LEVEL="WARNING"),
    )
    watchdog = threading.Timer(180, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        banner: list[str] = []
        for line in proc.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C"):
                break
    finally:
        watchdog.cancel()
        proc.terminate()
        proc.wait(30)
    text = "\n".join(banner)
    token = text.split("/supervisor?token=", 1)[1].split()[0]
    claims = _claims(token)
    assert claims["role"] == "admin"
    assert int(claims["exp"]) - int(claims["iat"]) == 12 * 3600, text  # type: ignore[call-overload]
    expires = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(int(claims["exp"])))  # type: ignore[call-overload]
    assert f"lasts 12 h (expires {expires})" in text, text


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path, busy_port: int) -> None:
    out = _run("serve", "--port", str(busy_port), "--data-dir", str(tmp_path))
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "in use" in lines[0] and "--port" in lines[0], out.stderr


def test_demo_on_a_busy_port_says_so_in_one_line(tmp_path: Path, busy_port: int) -> None:
    out = _run("demo", "--port", str(busy_port), "--data-dir", str(tmp_path), "--lead-in", "0")
    assert out.returncode == 2
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, out.stdout + out.stderr
    assert "in use" in lines[0] and "--port 0" in lines[0]


# ---- tokens and the data folder ------------------------------------------------------------------

SECRET = "firstrun-secret-0123456789abcdef"


@pytest.mark.parametrize(
    ("args", "lifetime_s", "said"),
    [
        (["--role", "agent", "--agent-id", "A1"], 12 * 3600, "12 h"),
        (["--role", "supervisor"], 12 * 3600, "12 h"),
        (["--role", "supervisor", "--ttl", "1800"], 1800, "30 min"),
        (["--role", "admin"], 12 * 3600, "12 h"),
        (["--role", "ingest"], 90 * 86400, "90 days"),
        (["--role", "ingest", "--ttl", "0"], None, "no expiry"),
    ],
)
def test_token_lifetime_defaults_and_is_stated(
    tmp_path: Path, args: list[str], lifetime_s: int | None, said: str
) -> None:
    env = {"CARECUE_AUTH_SECRET": SECRET, "CARECUE_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["token", "create", *args], env=env)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    claims = _claims(token)
    if lifetime_s is None:
        assert "exp" not in claims
    else:
        assert int(claims["exp"]) - int(claims["iat"]) == lifetime_s  # type: ignore[call-overload]
    assert f"lifetime: {said}" in result.stderr
    assert f"id: {claims['jti']}" in result.stderr  # what `carecue token revoke` takes


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
def test_peoples_tokens_always_expire_within_a_month(tmp_path: Path, role: str) -> None:
    env = {"CARECUE_AUTH_SECRET": SECRET, "CARECUE_DATA_DIR": str(tmp_path)}
    for ttl in ("0", str(32 * 86400)):
        result = CliRunner().invoke(
            cli, ["token", "create", "--role", role, "--agent-id", "A1", "--ttl", ttl], env=env
        )
        assert result.exit_code == 2, result.output
        assert "must expire" in result.output and result.stdout.count("cc1.") == 0


def test_default_data_dir_is_per_user_and_the_secret_private(tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in _env().items() if not k.startswith("CARECUE_") and k != "XDG_DATA_HOME"}
    env["HOME"] = str(home)
    out = subprocess.run(
        [*CLI, "token", "create", "--role", "supervisor"], capture_output=True, text=True,
        timeout=120, cwd=work, env=env,
    )
    assert out.returncode == 0, out.stderr
    assert list(work.iterdir()) == []  # nothing written where the command was run
    data = home / ".local" / "share" / "carecue"
    assert (data / "auth_secret").stat().st_mode & 0o777 == 0o600
    assert data.stat().st_mode & 0o777 == 0o700


def test_xdg_data_home_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.settings import Settings

    monkeypatch.delenv("CARECUE_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert Settings().data_dir == tmp_path / "xdg" / "carecue"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the spec says: only absolute paths
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert Settings().data_dir == tmp_path / "h" / ".local" / "share" / "carecue"
