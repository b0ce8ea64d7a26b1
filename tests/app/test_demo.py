"""``carecue demo``: a short run end to end, as a newcomer would start it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SHORT_CALL = textwrap.dedent(
    """\
    voices: {caller: af_heart, agent: bm_george}
    turns:
      - {speaker: agent, text: "Patient support, this is Sam. How can I help?", pause_s: 0.4}
      - {speaker: caller, text: "I'm terrified. My scan results came back and I'm so scared.",
         pause_s: 0.6}
      - {speaker: agent, text: "Can I have your date of birth, please?", pause_s: 0.6}
    trailing_silence_s: 13.0
    """
)


@pytest.mark.slow
def test_demo_serves_plays_the_call_and_prints_nudges(tmp_path: Path) -> None:
    script = tmp_path / "short.yaml"
    script.write_text(SHORT_CALL)
    data_dir = tmp_path / "data"
    proc = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "demo", "--call", str(script),
         "--port", "0", "--lead-in", "0", "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=600,
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in out.splitlines() if "Agent console:" in line]
    assert len(console) == 1 and "/agent?token=cc1." in console[0]
    assert "call CA-demo-" in out and "started" in out and "ended" in out
    assert "SUGGEST Acknowledge their concern" in out
    assert "Done: " in out
    # No dead link to a call record after the server stopped: it says how to keep it.
    assert "carecue demo --keep-serving" in out and "/v1/calls/" not in out
    # The embedded defaults put a SQLite store in the data dir; the call is in it.
    assert (data_dir / "carecue.db").exists()
