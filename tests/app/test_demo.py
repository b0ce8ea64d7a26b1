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
    assert "carecue demo --keep-serving" in out
    assert "/v1/calls/" not in out and "/calls/" not in out
    # the call's score, part by part, and its summary are printed instead
    assert "Empathy score" in out and "Time to acknowledge" in out and "Summary: " in out
    # The embedded defaults put a SQLite store in the data dir; the call is in it.
    assert (data_dir / "carecue.db").exists()


@pytest.mark.slow
def test_demo_keep_serving_prints_a_review_link_that_works(tmp_path: Path) -> None:
    import signal

    import httpx

    script = tmp_path / "short.yaml"
    script.write_text(SHORT_CALL)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from app.cli import main; main()", "demo", "--call", str(script),
         "--port", "0", "--lead-in", "0", "--data-dir", str(tmp_path / "data"),
         "--keep-serving"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        for line in proc.stdout:  # the process keeps serving: read until the link
            lines.append(line)
            if "Call review:" in line:
                break
        out = "".join(lines)
        assert "Empathy score" in out and "Summary: " in out, out[-2000:]
        link = out.split("Call review:")[1].split()[0]
        base, _, rest = link.partition("/calls/")
        call_id, _, token = rest.partition("?token=")
        assert call_id.startswith("CA-demo-") and token.startswith("cc1.")
        page = httpx.get(link, timeout=30)
        assert page.status_code == 200 and "Call review" in page.text
        review = httpx.get(f"{base}/v1/calls/{call_id}/review",
                           headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert review.status_code == 200
        body = review.json()
        assert body["call_id"] == call_id
        assert any("terrified" in ln["text"].lower() for ln in body["transcript"]
                   if ln["speaker"] == "caller")
        assert len(body["score"]["parts"]) == 6
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
