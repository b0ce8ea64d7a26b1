"""``carecue playbook explain`` on sample calls: real MiniLM classifier, scorer and matcher.

These pin what the default playbook does with the real models on calls an agent would
recognise; the scripted-signal tests pin the engine's mechanics independently of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from app.cli.playbook import register

pytestmark = pytest.mark.slow

TRANSCRIPTS = Path(__file__).parent / "transcripts"


def explain(name: str, tmp_path: Path, *extra: str) -> list[dict[str, Any]]:
    """Run explain on the transcript lines of a sample (scripted signal lines dropped)."""
    lines = [
        line
        for line in (TRANSCRIPTS / f"{name}.jsonl").read_text().splitlines()
        if line.strip() and not line.startswith("//") and '"signals"' not in line
    ]
    path = tmp_path / f"{name}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    register(app)
    result = CliRunner().invoke(app, ["playbook", "explain", "--transcript", str(path), *extra])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def created(events: list[dict[str, Any]]) -> list[tuple[float, str]]:
    return [(e["at_s"], e["rule_id"]) for e in events if e["event"] == "created"]


def test_output_lines_have_the_documented_shape(tmp_path: Path) -> None:
    events = explain("call_worried", tmp_path)
    assert events
    for e in events:
        assert e["event"] in ("created", "resolved")
        if e["event"] == "created":
            assert set(e) == {"at_s", "event", "rule_id", "nudge_id", "reason", "details"}
        elif e["reason"] == "agent_said":
            assert set(e) == {"at_s", "event", "rule_id", "nudge_id", "reason", "by"}
        else:
            assert set(e) == {"at_s", "event", "rule_id", "nudge_id", "reason"}


@pytest.mark.parametrize("name", ["call_refill", "refill_routine"])
def test_routine_refill_calls_get_no_nudge(name: str, tmp_path: Path) -> None:
    assert explain(name, tmp_path, "--tail-s", "60") == []


def test_crisis_gets_the_urgent_rule_on_the_utterance(tmp_path: Path) -> None:
    events = explain("call_crisis", tmp_path, "--tail-s", "60")
    assert events[0]["event"] == "created" and events[0]["rule_id"] == "self_harm_protocol"
    assert events[0]["at_s"] == 10.0  # the end of the caller's sentence
    assert "thinking about ending my life" in events[0]["reason"]
    assert events[1] == {
        "at_s": 15.0,
        "event": "resolved",
        "rule_id": "self_harm_protocol",
        "nudge_id": events[0]["nudge_id"],
        "reason": "agent_said",
        "by": "Are you safe right now?",
    }
    # no cheerful "positive note" after a crisis
    assert "positive_note" not in {e["rule_id"] for e in events}


def test_worried_parent_not_acknowledged_in_time(tmp_path: Path) -> None:
    events = explain("call_worried", tmp_path)
    # the agent's reply at 14 s goes straight to questions: the prompt comes then, not at 21 s
    assert [(e["at_s"], e["event"], e["rule_id"]) for e in events[:2]] == [
        (14.0, "created", "acknowledge_concern"),
        (32.0, "resolved", "acknowledge_concern"),
    ]
    assert events[0]["reason"] == (
        "The caller said \"I'm really worried, I don't know what to do\""
        " and hasn't been acknowledged yet."
    )


def test_grief_offers_counselling(tmp_path: Path) -> None:
    events = explain("call_grief", tmp_path)
    assert created(events)[0] == (8.0, "offer_counselling")
    assert '"He passed away last week"' in events[0]["reason"]


def test_new_diagnosis_offers_support_group(tmp_path: Path) -> None:
    events = explain("call_diagnosis", tmp_path)
    assert created(events)[0] == (8.0, "offer_support_group")
    assert "I've got MS" in events[0]["reason"]


def test_denied_pain_is_not_triaged_but_real_pain_is(tmp_path: Path) -> None:
    # the classifier alone scores "I'm not in any pain" high on pain; the rule does not fire
    events = explain("pain_negation", tmp_path)
    assert [e for e in created(events) if e[1] == "pain_triage"] == [(46.0, "pain_triage")]


def test_no_positive_note_when_the_caller_gets_worse(tmp_path: Path) -> None:
    # distress decays while the caller is quiet; their next words are darker, not calmer
    events = explain("sustained_distress", tmp_path, "--tail-s", "30")
    assert "positive_note" not in {e["rule_id"] for e in events}


def test_hopelessness_asks_the_gentle_safety_question_without_escalating(tmp_path: Path) -> None:
    # "I don't see the point of anything": the soft level, never the self-harm protocol
    events = explain("sustained_distress", tmp_path, "--tail-s", "30")
    rules = {e["rule_id"] for e in events if e["event"] == "created"}
    assert "safety_check_in" in rules
    assert not rules & {"self_harm_protocol", "emergency_protocol"}


def test_a_farewell_after_hopelessness_earlier_in_the_call_gets_the_protocol(
    tmp_path: Path,
) -> None:
    # "I've had enough of all of it" at 16 s (the gentle check), then "cancel all of them ...
    # thank you for everything" at 52 s, when the first words have left the 20 s window
    events = explain("farewell_across_call", tmp_path, "--tail-s", "30")
    mine = [e for e in events if e["rule_id"] == "self_harm_protocol"]
    protocol = [e for e in mine if e["event"] == "created"]
    assert [e["at_s"] for e in protocol] == [52.0]
    assert "had enough of all of it" in protocol[0]["reason"]
    assert "Cancel all of them" in protocol[0]["reason"]
    assert [e["reason"] for e in mine if e["event"] == "resolved"] == ["agent_said"]


def test_a_goodbye_the_call_explained_by_a_move_is_no_farewell(tmp_path: Path) -> None:
    events = explain("moving_goodbye", tmp_path, "--tail-s", "30")
    rules = {e["rule_id"] for e in events if e["event"] == "created"}
    assert not rules & {"self_harm_protocol", "emergency_protocol", "caller_at_risk"}


@pytest.mark.parametrize("path", sorted(TRANSCRIPTS.glob("*.jsonl")), ids=lambda p: p.stem)
def test_explain_accepts_every_test_transcript(path: Path) -> None:
    # the test scripts carry scripted signals, feedback and ticks: explain replays them all
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    register(app)
    result = CliRunner().invoke(app, ["playbook", "explain", "--transcript", str(path)])
    assert result.exit_code == 0, result.output
    for line in result.stdout.splitlines():
        assert json.loads(line)["event"] in ("created", "resolved")


def test_explain_names_the_line_of_a_bad_transcript(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"speaker":"caller","text":"hi","start_s":0,"end_s":1}\n{"speaker":"nurse","text":"x"}\n'
    )
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    register(app)
    result = CliRunner().invoke(app, ["playbook", "explain", "--transcript", str(path)])
    assert result.exit_code == 2
    assert f"{path}:2:" in result.output
