"""The bundled demo call (carecue_sim/demo_call/sample_call.*) through the real classifier and
playbook.

The agent answers "I'm terrified" with a date-of-birth question, then with a hollow
"I understand. The next available appointment is on Thursday...", and only at 44.6 s says
"I can hear how worried you are". The prompt must come when the first reply passes over
the fear, and stay on screen until the real acknowledgement.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asr.types import TranscriptFinal
from models.classifier import load_classifier
from models.clock import FakeClock
from models.encoder import get_encoder
from models.scorer import WindowScorer
from nudges.engine import NudgeEngine
from nudges.events import NudgeCreated, NudgeResolved
from nudges.matching import PhraseMatcher
from nudges.playbook import load_playbook
from nudges.replay import replay_events

pytestmark = pytest.mark.slow

TURNS = Path(__file__).resolve().parents[2] / "carecue_sim" / "demo_call" / "sample_call.turns.json"


@pytest.fixture(scope="module")
def events() -> list[object]:
    turns = json.loads(TURNS.read_text())["turns"]
    finals = [TranscriptFinal(t["speaker"], t["text"], t["start_s"], t["end_s"]) for t in turns]
    clock = FakeClock()
    engine = NudgeEngine(load_playbook(), clock, PhraseMatcher(get_encoder()))
    scorer = WindowScorer(load_classifier(), clock)
    out: list[object] = []
    for item in replay_events(finals, scorer=scorer, clock=clock, tail_s=10):
        out.extend(engine.handle(item))
    out.extend(engine.end_call())
    return out


def _turn(prefix: str) -> dict[str, object]:
    turns = json.loads(TURNS.read_text())["turns"]
    return next(t for t in turns if str(t["text"]).startswith(prefix))


def test_acknowledge_comes_when_the_reply_passes_over_the_fear(events: list[object]) -> None:
    created = [e for e in events if isinstance(e, NudgeCreated)]
    ack = next(e for e in created if e.rule_id == "acknowledge_concern")
    assert ack.at_s == _turn("Okay. Can I get your date of birth")["end_s"]
    assert ack.reason == "The caller said \"I'm terrified\" and hasn't been acknowledged yet."


def test_a_hollow_i_understand_does_not_resolve_it(events: list[object]) -> None:
    ack_id = next(
        e.nudge_id
        for e in events
        if isinstance(e, NudgeCreated) and e.rule_id == "acknowledge_concern"
    )
    resolved = next(e for e in events if isinstance(e, NudgeResolved) and e.nudge_id == ack_id)
    real = _turn("I'm sorry, I rushed you.")
    assert resolved.how == "agent_said"
    assert resolved.at_s == real["end_s"]  # not 39.3 s, the "I understand. The next..." turn
    assert resolved.by is not None and "I can hear how worried you are" in resolved.by


def test_no_protocol_or_safety_prompt_for_a_frightened_caller(events: list[object]) -> None:
    rules = {e.rule_id for e in events if isinstance(e, NudgeCreated)}
    assert not rules & {"self_harm_protocol", "emergency_protocol", "safety_check_in"}
