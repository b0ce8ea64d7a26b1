"""Invariants of the engine on random calls (default playbook, lexical matcher)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from asr.types import Speaker, TranscriptFinal
from models.clock import FakeClock
from models.signals import Signals
from nudges.engine import EngineInput, NudgeEngine
from nudges.events import (
    Escalation,
    Feedback,
    FeedbackAction,
    NudgeCreated,
    NudgeResolved,
    Tick,
)
from nudges.playbook import load_playbook

PLAYBOOK = load_playbook()
LINES = [
    "I'm so scared it's serious",
    "I'm not in any pain",
    "my back really hurts",
    "I just want to die",
    "I was diagnosed with lupus last year",
    "my husband passed away",
    "I don't understand",
    "how many tablets should I take each day?",
    "okay thank you",
    "I need a refill",
    "I understand, that sounds really hard",
    "are you safe right now?",
    "on a scale of 0 to 10 how bad is it",
    "let me pull up your account",
    "there is a support group near you",
]


@st.composite
def calls(draw: st.DrawFn) -> list[EngineInput]:
    t = 0.0
    events: list[EngineInput] = []
    for _ in range(draw(st.integers(1, 40))):
        t += draw(st.floats(0.0, 20.0))
        kind = draw(st.sampled_from(["caller", "agent", "signals", "tick", "feedback"]))
        if kind == "caller" or kind == "agent":
            speaker: Speaker = "caller" if kind == "caller" else "agent"
            dur = draw(st.floats(0.2, 6.0))
            start = t - dur + draw(st.floats(-2.0, 0.0))  # overlaps happen
            events.append(TranscriptFinal(speaker, draw(st.sampled_from(LINES)), start, t))
        elif kind == "signals":
            d = draw(st.floats(0.0, 1.0))
            events.append(
                Signals(
                    at_s=t,
                    distress=d,
                    concerns={"pain": draw(st.floats(0, 1)), "sadness": draw(st.floats(0, 1))},
                    trend=draw(st.sampled_from(["rising", "steady", "falling"])),
                    crisis=draw(st.booleans()),
                    distressed=d > 0.6,
                    evidence="words",
                )
            )
        elif kind == "tick":
            events.append(Tick(t))
        else:
            action: FeedbackAction = draw(
                st.sampled_from(["accepted", "dismissed", "helpful", "not_helpful"])
            )
            events.append(Feedback(f"n{draw(st.integers(1, 6))}", action, t))
    return events


@settings(max_examples=150, deadline=None)
@given(calls())
def test_engine_invariants(events: list[EngineInput]) -> None:
    engine = NudgeEngine(PLAYBOOK, FakeClock())
    out = [e for ev in events for e in engine.handle(ev)]
    again = NudgeEngine(PLAYBOOK, FakeClock())
    assert out == [e for ev in events for e in again.handle(ev)]  # deterministic

    created: dict[str, NudgeCreated] = {}
    resolved: set[str] = set()
    fired: dict[str, list[float]] = {}
    for e in out:
        if isinstance(e, NudgeCreated):
            assert e.nudge_id not in created
            rule = PLAYBOOK.rule(e.rule_id)
            times = fired.setdefault(e.rule_id, [])
            assert not times or e.at_s >= times[-1] + rule.cooldown_s  # cooldown
            times.append(e.at_s)
            assert len(times) <= rule.max_per_call
            # never two open nudges of one rule
            assert all(n.rule_id != e.rule_id or n.nudge_id in resolved for n in created.values())
            assert e.expires_at_s == e.at_s + rule.expires_after_s
            assert e.suggestion in rule.suggestions
            created[e.nudge_id] = e
        elif isinstance(e, NudgeResolved):
            assert e.nudge_id in created and e.nudge_id not in resolved
            assert e.at_s >= created[e.nudge_id].at_s
            assert e.at_s <= created[e.nudge_id].expires_at_s
            resolved.add(e.nudge_id)
        else:
            assert isinstance(e, Escalation)
            assert PLAYBOOK.rule(e.rule_id).escalate and e.nudge_id in created
    assert {n.nudge_id for n in engine.open_nudges()} == set(created) - resolved
