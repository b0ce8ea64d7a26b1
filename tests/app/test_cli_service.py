"""``carecue token create`` and ``carecue serve`` (the real CLI entry point)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from app.auth import TokenSigner
from app.cli import cli
from app.cli import serve as serve_cmd
from app.cli import token as token_cmd

token_cmd.register(cli)
serve_cmd.register(cli)
SECRET = "cli-secret-0123456789abcdef"


def test_token_create_mints_a_verifiable_agent_token(tmp_path: Path) -> None:
    env = {"CARECUE_AUTH_SECRET": SECRET, "CARECUE_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(
        cli, ["token", "create", "--role", "agent", "--agent-id", "A1"], env=env
    )
    assert result.exit_code == 0, result.output
    p = TokenSigner(SECRET).verify(result.stdout.strip())
    assert (p.role, p.agent_id) == ("agent", "A1")


def test_token_create_refuses_agent_without_id(tmp_path: Path) -> None:
    env = {"CARECUE_AUTH_SECRET": SECRET, "CARECUE_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["token", "create", "--role", "agent"], env=env)
    assert result.exit_code != 0 and "agent-id" in result.output


def test_token_uses_the_data_dir_secret_when_none_is_configured(tmp_path: Path) -> None:
    env = {"CARECUE_DATA_DIR": str(tmp_path), "CARECUE_AUTH_SECRET": ""}
    result = CliRunner().invoke(cli, ["token", "create", "--role", "supervisor"], env=env)
    assert result.exit_code == 0, result.output
    secret = (tmp_path / "auth_secret").read_text().strip()
    assert (tmp_path / "auth_secret").stat().st_mode & 0o777 == 0o600
    assert TokenSigner(secret).verify(result.stdout.strip()).role == "supervisor"


def test_serve_and_token_are_console_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "serve" in out and "token" in out
