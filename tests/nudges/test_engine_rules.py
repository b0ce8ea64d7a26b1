"""Rule mechanics on small playbooks: cooldown, max per call, feedback, timing triggers."""

from __future__ import annotations

from nudge_scripting import replay, summary

from asr.types import TranscriptFinal
from models.clock import FakeClock
from models.signals import Signals
from nudges.engine import NudgeEngine
from nudges.events import Feedback, NudgeCreated, Tick
from nudges.playbook import Playbook, parse_playbook

WORRY_RULE = """
name: test
rules:
  - id: reassure
    title: Reassure
    suggestions: ["first variant", "second variant"]
    trigger:
      said: {speaker: caller, phrases: [worried], within_s: 5}
    cooldown_s: {cooldown}
    max_per_call: {max}
    expires_after_s: 10
    done_when:
      agent_said: {phrases: [it's okay]}
"""


def worry_playbook(cooldown: float = 30, max_per_call: int = 5) -> Playbook:
    text = WORRY_RULE.replace("{cooldown}", str(cooldown)).replace("{max}", str(max_per_call))
    return parse_playbook(text)


def caller(text: str, start: float, end: float) -> TranscriptFinal:
    return TranscriptFinal("caller", text, start, end)


def agent(text: str, start: float, end: float) -> TranscriptFinal:
    return TranscriptFinal("agent", text, start, end)


def worried_at(*ends: float) -> list[TranscriptFinal]:
    return [caller("I am worried about it", e - 2, e) for e in ends]


def test_nothing_refires_inside_the_cooldown() -> None:
    events = replay(worried_at(5, 20, 34, 36, 70), worry_playbook(cooldown=30))
    created = [s for s in summary(events) if s[0] == "created"]
    # 5 fires; 20 and 34 are inside 5+30. At the 35 s tick the cooldown is over and the
    # caller's words from 34 s are still fresh (within_s 5), so it fires then; 36 is
    # inside the new cooldown; 70 is a new utterance after 35+30.
    assert [c[2] for c in created] == [5.0, 35.0, 70.0]


def test_max_per_call_caps_firings() -> None:
    events = replay(worried_at(5, 50, 100, 150), worry_playbook(cooldown=0, max_per_call=2))
    assert [s[2] for s in summary(events) if s[0] == "created"] == [5.0, 50.0]


def test_suggestion_variants_rotate() -> None:
    events = replay(worried_at(5, 50), worry_playbook(cooldown=0))
    assert [e.suggestion for e in events if isinstance(e, NudgeCreated)] == [
        "first variant",
        "second variant",
    ]


def test_open_nudge_is_not_duplicated_and_expires() -> None:
    engine = NudgeEngine(worry_playbook(cooldown=0), FakeClock())
    assert len(engine.handle(caller("I am worried", 0, 2))) == 1
    assert engine.handle(caller("still worried", 3, 4)) == []  # n1 still open
    assert [o.nudge_id for o in engine.open_nudges()] == ["n1"]
    out = engine.handle(Tick(12.5))
    assert summary(out) == [("resolved", "reassure", 12.0, "expired")]
    assert engine.open_nudges() == []


def test_feedback_resolves_and_unknown_ids_are_ignored() -> None:
    engine = NudgeEngine(worry_playbook(cooldown=0), FakeClock())
    engine.handle(caller("I am worried", 0, 2))
    assert engine.handle(Feedback("n1", "helpful", 3.0)) == []
    assert engine.handle(Feedback("nope", "accepted", 3.0)) == []
    assert summary(engine.handle(Feedback("n1", "dismissed", 4.0))) == [
        ("resolved", "reassure", 4.0, "dismissed")
    ]
    assert engine.handle(Feedback("n1", "accepted", 5.0)) == []  # already resolved
    engine.handle(caller("I am worried again", 10, 12))
    assert summary(engine.handle(Feedback("n2", "accepted", 13.0))) == [
        ("resolved", "reassure", 13.0, "accepted")
    ]


def test_agent_saying_it_resolves_but_negated_does_not() -> None:
    engine = NudgeEngine(worry_playbook(), FakeClock())
    engine.handle(caller("I am worried", 0, 2))
    assert engine.handle(agent("it's not okay to skip doses", 2.5, 4)) == []
    assert summary(engine.handle(agent("it's okay, we'll sort it", 4.5, 6))) == [
        ("resolved", "reassure", 6.0, "agent_said")
    ]


def test_agent_speech_before_the_nudge_does_not_resolve_it() -> None:
    engine = NudgeEngine(worry_playbook(), FakeClock())
    engine.handle(agent("it's okay", 0, 1))
    engine.handle(caller("I am worried", 1.5, 3))
    assert [o.rule_id for o in engine.open_nudges()] == ["reassure"]


def test_negated_phrase_does_not_fire() -> None:
    assert replay([caller("I'm honestly not worried about it", 0, 2)], worry_playbook()) == []
    assert replay([caller("I'm not sure, but I am worried", 0, 2)], worry_playbook()) != []


SIGNAL_PLAYBOOK = parse_playbook(
    """
name: t
rules:
  - id: high
    title: High distress
    suggestions: [x]
    trigger: {signal: {name: distress, above: 0.7, for_s: 10}}
    unless: {said: {speaker: caller, phrases: [refill]}}
  - id: calmer
    title: Calmer
    suggestions: [y]
    priority: info
    trigger: {signal: {name: distress, fell_by: 0.3, within_s: 60}}
"""
)


def sig(at: float, distress: float, evidence: str = "words") -> Signals:
    return Signals(at_s=at, distress=distress, concerns={}, trend="steady", evidence=evidence)


def test_signal_threshold_needs_its_minimum_duration() -> None:
    engine = NudgeEngine(SIGNAL_PLAYBOOK, FakeClock())
    assert engine.handle(sig(0, 0.8, "this is awful")) == []
    assert engine.handle(Tick(9.0)) == []
    out = engine.handle(Tick(10.0))
    assert summary(out) == [("created", "high", 10.0, "n1")]
    assert isinstance(out[0], NudgeCreated)
    assert out[0].reason == 'High distress. The caller said "this is awful".'
    assert out[0].details == ("distress 0.80 for 10 s",)


def test_dipping_below_restarts_the_duration() -> None:
    engine = NudgeEngine(SIGNAL_PLAYBOOK, FakeClock())
    engine.handle(sig(0, 0.8))
    engine.handle(sig(5, 0.6))
    engine.handle(sig(6, 0.8))
    assert engine.handle(Tick(15.0)) == []
    assert [e.rule_id for e in engine.handle(Tick(16.0))] == ["high"]


def test_unless_blocks_a_rule() -> None:
    engine = NudgeEngine(SIGNAL_PLAYBOOK, FakeClock())
    engine.handle(caller("I need a refill", 0, 1))
    engine.handle(sig(1, 0.9))
    assert engine.handle(Tick(11.0)) == []


def test_fell_by_fires_once_when_distress_drops() -> None:
    engine = NudgeEngine(SIGNAL_PLAYBOOK, FakeClock())
    engine.handle(sig(0, 0.9))
    assert [e.rule_id for e in engine.handle(sig(5, 0.55))] == ["calmer"]
    assert engine.handle(sig(8, 0.5)) == []  # latched: the condition never went false


TALK_PLAYBOOK = parse_playbook(
    """
name: t
rules:
  - id: quiet
    title: Check in
    suggestions: ["Are you still there?"]
    trigger: {talk: {measure: silence, above: 8}}
    expires_after_s: 5
  - id: monologue
    title: Let them talk
    suggestions: [Ask a question]
    trigger: {talk: {measure: agent_talk_ratio, above: 0.75, window_s: 60, min_speech_s: 20}}
"""
)


def test_long_silence_fires_on_a_tick() -> None:
    engine = NudgeEngine(TALK_PLAYBOOK, FakeClock())
    engine.handle(caller("hmm let me think about that", 0, 2))
    assert engine.handle(Tick(9.5)) == []
    out = engine.handle(Tick(10.0))
    assert summary(out) == [("created", "quiet", 10.0, "n1")]
    assert "let me think about that" in out[0].reason  # type: ignore[union-attr]


def test_agent_talk_ratio() -> None:
    engine = NudgeEngine(TALK_PLAYBOOK, FakeClock())
    engine.handle(caller("what do the results mean", 0, 3))
    assert engine.handle(agent("long explanation " * 5, 3.5, 12)) == []  # under 20 s spoken
    out = engine.handle(agent("more explanation " * 5, 12.5, 25))
    assert [e.rule_id for e in out] == ["monologue"]
    assert out[0].details == ("agent spoke 88% of the last 60 s",)  # type: ignore[union-attr]


def test_events_may_arrive_with_equal_or_older_times() -> None:
    engine = NudgeEngine(worry_playbook(), FakeClock())
    engine.handle(Tick(10.0))
    # a late final (ended before the last tick) must not move time backwards
    out = engine.handle(caller("I am worried", 7, 9))
    assert [(e.rule_id, e.at_s) for e in out] == [("reassure", 10.0)]
    assert engine.now_s == 10.0


def test_poll_uses_the_clock() -> None:
    clock = FakeClock()
    engine = NudgeEngine(TALK_PLAYBOOK, clock)
    engine.handle(caller("hello", 0, 1))
    clock.set(9.0)
    assert [e.rule_id for e in engine.poll()] == ["quiet"]


def test_positive_note_waits_for_the_scores_of_the_callers_new_words() -> None:
    from nudges.playbook import load_playbook

    engine = NudgeEngine(load_playbook(), FakeClock())
    engine.handle(caller("Everything is falling apart", 0, 3))
    engine.handle(sig(3, 0.8, "Everything is falling apart"))
    engine.handle(agent("I'm so sorry, that sounds really hard.", 4, 6))
    engine.handle(sig(15, 0.3, "Everything is falling apart"))  # decayed while quiet
    # the caller speaks again: until its scores arrive, the old (decayed) ones don't count
    assert engine.handle(caller("It keeps getting worse every day", 16, 19)) == []
    assert engine.handle(sig(19, 0.85, "It keeps getting worse every day")) == []
    # calmer words, scored calmer: now it is a positive note
    engine.handle(caller("Thank you, that helps", 20, 22))
    out = engine.handle(sig(22, 0.35, "Thank you, that helps"))
    assert [e.rule_id for e in out] == ["positive_note"]
