"""``carecue playbook validate`` and ``explain`` (the latter with the real classifier)."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from app.cli.playbook import register
from nudges.playbook import DEFAULT_PLAYBOOK_PATH

TRANSCRIPTS = Path(__file__).parent / "transcripts"


def carecue() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    register(app)
    return app


def test_validate_accepts_the_default_playbook() -> None:
    result = CliRunner().invoke(carecue(), ["playbook", "validate", str(DEFAULT_PLAYBOOK_PATH)])
    assert result.exit_code == 0, result.output
    assert "ok (medical_support, 12 rules enabled of 12)" in result.output


def test_validate_reports_line_numbers_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: t\n"
        "rules:\n"
        "  - id: a\n"
        "    title: A\n"
        "    suggestions: [x]\n"
        "    trigger: {signal: {name: distress, above: 2}}\n"
        "    max_per_call: 0\n"
    )
    result = CliRunner().invoke(carecue(), ["playbook", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:6: rules[0].trigger.signal.above: Input should be less than or equal to 1" in (
        result.output
    )
    assert f"{bad}:7: rules[0].max_per_call: Input should be greater than or equal to 1" in (
        result.output
    )


def test_validate_missing_file_exits_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(carecue(), ["playbook", "validate", str(tmp_path / "no.yaml")])
    assert result.exit_code == 1
    assert "cannot read file" in result.output


def test_explain_rejects_a_bad_transcript(tmp_path: Path) -> None:
    t = tmp_path / "t.jsonl"
    t.write_text('{"speaker": "nurse", "text": "hi", "start_s": 0, "end_s": 1}\n')
    result = CliRunner().invoke(carecue(), ["playbook", "explain", "--transcript", str(t)])
    assert result.exit_code == 2
    assert "t.jsonl:1: speaker must be 'caller' or 'agent'" in result.output
