"""``.ci/run`` on a machine without services: it must plan to install, start and create them.

The script runs with ``--dry-run`` and a PATH of fake system tools that record every call, so
the test changes nothing on this machine; a fake that would mutate (apt-get, pg_ctlcluster,
redis-server, psql creating a database) being called at all is a failure of the dry run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "run"


def _fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "$FAKE_LOG"\n{body}\n')
    path.chmod(0o755)


def _run(tmp_path: Path, *, services_up: bool) -> tuple[subprocess.CompletedProcess[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    log.touch()
    up = "exit 0" if services_up else "exit 2"
    _fake(bin_dir, "pg_isready", up)
    _fake(bin_dir, "redis-cli", "echo PONG" if services_up else "exit 1")
    _fake(bin_dir, "psql", "echo 1" if services_up else "exit 2")
    for name in ("apt-get", "espeak-ng", "sox"):
        _fake(bin_dir, name, "exit 0")
    if services_up:  # installed and running; on the bare machine they are missing entirely
        for name in ("pg_ctlcluster", "redis-server"):
            _fake(bin_dir, name, "exit 0")
    # The real tools the script itself needs, and nothing else from the host's PATH.
    for tool in ("python3", "bash", "sed", "grep", "find", "sort", "tail", "seq", "sleep",
                 "id", "cat", "dirname", "tr"):
        real = shutil.which(tool)
        if real and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(real)
    env = {"PATH": str(bin_dir), "FAKE_LOG": str(log), "HOME": str(tmp_path)}
    proc = subprocess.run(
        ["bash", str(SCRIPT), "--dry-run"], capture_output=True, text=True, env=env,
        cwd=tmp_path, timeout=120,
    )
    return proc, log.read_text()


def test_dry_run_on_a_bare_machine_installs_starts_and_creates_everything(tmp_path: Path) -> None:
    proc, calls = _run(tmp_path, services_up=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "apt-get install" in out and " postgresql" in out and " redis-server" in out
    assert "pg_ctlcluster" in out and " start" in out
    assert "CREATE DATABASE test" in out
    assert "redis-server --daemonize yes" in out
    assert "-m pytest -q" in out
    # A dry run only looks: no installer, service or database command actually ran.
    for mutating in ("apt-get", "pg_ctlcluster", "redis-server", "CREATE DATABASE"):
        assert mutating not in calls, calls


def test_dry_run_with_services_up_installs_and_starts_nothing(tmp_path: Path) -> None:
    proc, _ = _run(tmp_path, services_up=True)
    assert proc.returncode == 0, proc.stderr
    assert "apt-get" not in proc.stdout
    assert "pg_ctlcluster" not in proc.stdout and "redis-server" not in proc.stdout
    assert "CREATE DATABASE" not in proc.stdout


def test_no_failure_is_hidden() -> None:
    text = SCRIPT.read_text()
    assert "|| true" not in text
    assert "set -euo pipefail" in text
