"""Crisis focus: while a self-harm or emergency protocol is on, coaching waits and makes way."""

from __future__ import annotations

from nudge_scripting import replay, script, summary

from asr.types import TranscriptFinal
from models.clock import FakeClock
from models.signals import Signals
from nudges.engine import NudgeEngine
from nudges.events import NudgeCreated, NudgeResolved
from nudges.playbook import load_playbook
from nudges.replay import replay_events, run


def test_coaching_makes_way_for_the_protocol_and_is_held_while_it_is_on() -> None:
    events = replay(script("crisis_focus"), tail_s=30)
    assert summary(events) == [
        # "I don't understand" at 6 s: ordinary coaching
        ("created", "slow_down", 6.0, "n1"),
        # the plan, the means and the time at 13 s: the protocol takes the screen
        ("resolved", "slow_down", 13.0, "superseded"),
        ("created", "self_harm_protocol", 13.0, "n2"),
    ]
    # "I'm so confused" at 17 s would fire slow_down again; it is held while the flag is on,
    # and it is not shown late once the window has moved on.
    assert "slow_down" not in {e.rule_id for e in events[3:]}


def test_the_protocol_is_on_top_of_the_open_list() -> None:
    engine = NudgeEngine(load_playbook(), FakeClock())
    run(engine, replay_events(script("crisis_focus")))
    assert [n.rule_id for n in engine.open_nudges()] == ["self_harm_protocol"]


def test_nudges_still_open_when_the_call_ends_are_closed_as_call_ended() -> None:
    engine = NudgeEngine(load_playbook(), FakeClock())
    run(engine, replay_events(script("crisis_focus")))
    out = engine.end_call(40.0)
    assert [(e.rule_id, e.how, e.at_s) for e in out if isinstance(e, NudgeResolved)] == [
        ("self_harm_protocol", "call_ended", 40.0)
    ]
    assert engine.open_nudges() == []
    # nothing more happens on the ended call's clock
    assert engine.end_call(41.0) == []


def test_ordinary_coaching_comes_back_after_the_crisis_has_left_the_window() -> None:
    items = script("crisis_focus")
    later = [
        TranscriptFinal("agent", "Are you safe right now? Is anyone with you?", 18.0, 21.0),
        TranscriptFinal("caller", "Yes, my sister is here. What was the dose again?", 22, 25),
        # the window has moved on: the scorer's signals no longer carry the flag
        Signals(at_s=60.0, distress=0.3, concerns={}, trend="falling"),
        TranscriptFinal("caller", "I'm lost, I don't understand the instructions.", 200.0, 203.0),
    ]
    events = replay(items + later, tail_s=10)
    resolved = [(e.rule_id, e.how) for e in events if isinstance(e, NudgeResolved)]
    assert ("self_harm_protocol", "agent_said") in resolved
    created = [(e.rule_id, e.at_s) for e in events if isinstance(e, NudgeCreated)]
    assert ("slow_down", 203.0) in created


def test_someone_elses_risk_gets_its_own_protocol_and_the_callers_own_still_gets_hers() -> None:
    events = replay(script("someone_else_at_risk"), tail_s=5)
    assert summary(events) == [
        # "he told me he's going to kill himself": the husband is at risk, not the caller, so
        # the agent is not prompted to ask her whether she is thinking of ending her life
        ("created", "someone_else_at_risk", 9.0, "n1"),
        # the agent asks whether he is with her and safe
        ("resolved", "someone_else_at_risk", 13.0, "agent_said"),
        # then her own words: her own protocol
        ("created", "self_harm_protocol", 18.0, "n2"),
    ]
    first = next(e for e in events if isinstance(e, NudgeCreated))
    assert first.escalate and first.priority == "urgent"
    assert "he told me he's going to kill himself" in first.reason


def test_a_flag_about_someone_else_in_the_window_does_not_hide_the_callers_own() -> None:
    items = script("someone_else_at_risk")
    # the window holds both finals: the self-harm flag is no longer only about the husband
    both = [i for i in items if not isinstance(i, Signals)][:4] + [
        Signals(
            at_s=18.5,
            distress=0.9,
            concerns={"crisis": 0.95},
            trend="rising",
            crisis=True,
            red_flags=frozenset({"self_harm"}),
            about_others=frozenset(),
        )
    ]
    engine = NudgeEngine(load_playbook(), FakeClock())
    run(engine, replay_events(both))
    assert {n.rule_id for n in engine.open_nudges()} == {"self_harm_protocol"}


def test_a_goodbye_the_call_explained_raises_no_protocol_on_the_words_alone() -> None:
    # the patterns read "So this is goodbye" as a farewell; the move said earlier explains it
    events = replay(script("moving_goodbye"), tail_s=5)
    assert "self_harm_protocol" not in {e.rule_id for e in events}


def test_the_same_goodbye_without_the_move_still_raises_the_protocol() -> None:
    items = [
        i
        for i in script("moving_goodbye")
        if not (isinstance(i, TranscriptFinal) and "moving" in i.text)
    ]
    events = replay(items, tail_s=5)
    created = [e for e in events if isinstance(e, NudgeCreated)]
    assert [e.rule_id for e in created if e.escalate] == ["self_harm_protocol"]
