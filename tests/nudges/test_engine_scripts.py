"""Scripted calls (fake classifier signals) replayed through the default playbook."""

from __future__ import annotations

import re

from nudge_scripting import TRANSCRIPTS, replay, script, summary

from asr.types import TranscriptFinal
from models.clock import FakeClock
from nudges.engine import NudgeEngine
from nudges.events import Escalation, NudgeCreated, NudgeResolved, Tick
from nudges.playbook import dump_playbook, load_playbook, parse_playbook
from nudges.replay import load_script, replay_events, run


def test_a_reply_that_passes_over_the_fear_is_nudged_at_once_then_resolves_and_praised() -> None:
    events = replay(script("anxious_results"), tail_s=60)
    assert summary(events) == [
        # caller said "so scared" at 8 s; the agent's reply at 11 s asks for a date of birth
        ("created", "acknowledge_concern", 11.0, "n1"),
        ("resolved", "acknowledge_concern", 24.0, "agent_said"),
        # the acknowledgement landed and distress fell 0.72 -> 0.40
        ("created", "positive_note", 27.0, "n2"),
        ("resolved", "positive_note", 47.0, "expired"),
    ]
    first = events[0]
    assert isinstance(first, NudgeCreated)
    assert first.reason == (
        "The caller said \"I got my biopsy results back and I'm so scared it's something bad\""
        " and hasn't been acknowledged yet."
    )
    assert first.details == ('said "so scared"', "the agent replied without acknowledging it")
    assert first.priority == "suggest" and not first.escalate


def test_silence_after_the_fear_still_gets_the_nudge_at_the_deadline() -> None:
    # Without the agent's reply, the fallback timer fires 10 s after the caller's words.
    items = [i for i in script("anxious_results") if getattr(i, "start_s", None) != 9.0]
    events = replay(items, tail_s=60)
    assert summary(events)[:2] == [
        ("created", "acknowledge_concern", 18.0, "n1"),
        ("resolved", "acknowledge_concern", 24.0, "agent_said"),
    ]
    assert "within 10 s" in events[0].details[-1]  # type: ignore[union-attr]


def test_a_short_backchannel_does_not_count_as_passing_over() -> None:
    from asr.types import TranscriptFinal as F

    items = [
        F("agent", "Oh no.", 9.0, 9.6) if getattr(i, "start_s", None) == 9.0 else i
        for i in script("anxious_results")
    ]
    assert summary(replay(items, tail_s=60))[0] == ("created", "acknowledge_concern", 18.0, "n1")


def test_acknowledgement_inside_the_window_means_no_nudge() -> None:
    assert summary(replay(script("prompt_acknowledgement"), tail_s=60)) == []


def test_not_said_deadline_is_exact() -> None:
    items = script("prompt_acknowledgement")
    # the same acknowledgement, started one second after the 18 s deadline
    late = [
        TranscriptFinal(i.speaker, i.text, 19.0, 21.0)
        if isinstance(i, TranscriptFinal) and i.start_s == 13.0
        else i
        for i in items
        if not (isinstance(i, TranscriptFinal) and i.start_s == 18.0)
    ]
    assert summary(replay(late, tail_s=60)) == [
        ("created", "acknowledge_concern", 18.0, "n1"),
        ("resolved", "acknowledge_concern", 21.0, "agent_said"),
    ]


def test_routine_refill_call_gets_no_nudges() -> None:
    # Mentions diabetes, a refill and "not in any pain": none of that is an empathy moment.
    assert replay(script("refill_routine"), tail_s=120) == []


def test_crisis_line_fires_urgent_rule_on_the_utterance_itself() -> None:
    items = script("crisis_line")
    engine = NudgeEngine(load_playbook(), FakeClock())
    finals = [i for i in items if isinstance(i, TranscriptFinal)]
    assert engine.handle(finals[0]) == []
    out = engine.handle(finals[1])  # before any classifier signal arrives
    created = [e for e in out if isinstance(e, NudgeCreated)]
    escalations = [e for e in out if isinstance(e, Escalation)]
    # an overdose taken an hour ago, of their own will: both protocols, the emergency first
    assert [c.rule_id for c in created] == ["emergency_protocol", "self_harm_protocol"]
    assert all(c.priority == "urgent" and c.escalate and c.at_s == 8.0 for c in created)
    assert all("I just want to die" in c.reason for c in created)
    assert [(e.rule_id, e.severity, e.nudge_id) for e in escalations] == [
        (c.rule_id, "urgent", c.nudge_id) for c in created
    ]


def test_crisis_resolves_when_agent_follows_protocol() -> None:
    events = replay(script("crisis_line"))
    # "Are you safe right now? I'm calling an ambulance for you."
    assert summary(events) == [
        ("created", "emergency_protocol", 8.0, "n1"),
        ("created", "self_harm_protocol", 8.0, "n2"),
        ("resolved", "emergency_protocol", 14.0, "agent_said"),
        ("resolved", "self_harm_protocol", 14.0, "agent_said"),
    ]
    by = {e.rule_id: e.by for e in events if isinstance(e, NudgeResolved)}
    assert by == {
        "emergency_protocol": "I'm calling an ambulance for you.",
        "self_harm_protocol": "Are you safe right now?",
    }


def test_negated_pain_does_not_fire_but_real_pain_does() -> None:
    assert summary(replay(script("pain_negation"), tail_s=30)) == [
        ("created", "pain_triage", 46.0, "n1"),
        ("resolved", "pain_triage", 51.0, "agent_said"),
    ]


def test_talking_over_twice_suggests_letting_them_finish() -> None:
    events = replay(script("talk_over"), tail_s=60)
    assert summary(events) == [
        ("created", "let_them_finish", 21.0, "n1"),
        ("resolved", "let_them_finish", 51.0, "expired"),
    ]
    assert "she started it two weeks ago" in events[0].reason  # type: ignore[union-attr]


def test_one_talk_over_and_backchannels_are_not_enough() -> None:
    items = [
        i for i in script("talk_over") if not (isinstance(i, TranscriptFinal) and i.start_s == 17.5)
    ]
    assert replay(items, tail_s=60) == []


def test_repeated_question_suggests_slowing_down() -> None:
    events = replay(script("repeated_question"))
    assert summary(events) == [
        ("created", "slow_down", 20.0, "n1"),
        ("resolved", "slow_down", 25.0, "agent_said"),
    ]
    assert "how many tablets should I take each day?" in events[0].reason  # type: ignore[union-attr]


def test_replay_is_deterministic() -> None:
    for path in sorted(TRANSCRIPTS.glob("*.jsonl")):
        items = load_script(path)
        assert replay(items, tail_s=60) == replay(items, tail_s=60), path.name


def test_every_nudge_quotes_the_caller() -> None:
    for path in sorted(TRANSCRIPTS.glob("*.jsonl")):
        items = load_script(path)
        caller_words = [
            i.text for i in items if isinstance(i, TranscriptFinal) and i.speaker == "caller"
        ]
        for ev in replay(items, tail_s=120):
            if isinstance(ev, NudgeCreated):
                quoted = ev.reason.split('"', 2)[1]
                assert any(quoted.strip("\u2026") in w for w in caller_words), (path.name, ev)


def test_reasons_read_like_a_colleague_no_scores_and_one_quote() -> None:
    for path in sorted(TRANSCRIPTS.glob("*.jsonl")):
        for ev in replay(load_script(path), tail_s=120):
            if isinstance(ev, NudgeCreated):
                assert not re.search(r"\d\.\d\d", ev.reason), (path.name, ev.reason)
                assert ev.reason.count('"') == 2, (path.name, ev.reason)
                assert "(" not in ev.reason, (path.name, ev.reason)


def test_ticks_do_not_change_what_fires_from_speech() -> None:
    items = script("crisis_line")
    engine = NudgeEngine(load_playbook(), FakeClock())
    with_ticks = run(engine, replay_events(items, tick_s=0.5))
    engine = NudgeEngine(load_playbook(), FakeClock())
    without = run(engine, replay_events(items, tick_s=0))
    assert summary(with_ticks) == summary(without)


def test_agent_mid_acknowledgement_at_the_deadline_is_not_nudged() -> None:
    from asr.types import TranscriptPartial

    # without the agent's transactional reply, so that the 18 s timer is what is tested
    items = [i for i in script("anxious_results") if getattr(i, "start_s", None) != 9.0]
    engine = NudgeEngine(load_playbook(), FakeClock())
    events = []
    for ev in replay_events(items):
        if isinstance(ev, Tick) and ev.at_s == 17.0:
            # the agent is saying it when the 18 s deadline passes; the final comes later
            partial = TranscriptPartial("agent", "I'm so sorry you're going", "s9", 16.5, 17.0)
            events.extend(engine.handle(partial))
        events.extend(engine.handle(ev))
    assert "acknowledge_concern" not in {e.rule_id for e in events}


def test_the_same_crisis_seen_again_through_the_flag_does_not_refire() -> None:
    # The crisis flag stays on after the caller's words leave the phrase window; it is the
    # same occurrence, so even after the 120 s cooldown the rule stays quiet.
    events = replay(script("crisis_line"), tail_s=300)
    assert [
        (e.rule_id, e.at_s) for e in events if isinstance(e, NudgeCreated)
    ] == [("emergency_protocol", 8.0), ("self_harm_protocol", 8.0)]


def test_frustration_gets_validation_which_the_agent_then_gives() -> None:
    events = replay(script("frustrated"), tail_s=60)
    assert summary(events) == [
        ("created", "validate_feelings", 8.0, "n1"),
        ("resolved", "validate_feelings", 13.5, "agent_said"),
        # the caller spoke again, calmer (0.70 -> 0.45)
        ("created", "positive_note", 16.0, "n2"),
        ("resolved", "positive_note", 36.0, "expired"),
    ]
    assert events[0].details == ('said "fed up"',)  # type: ignore[union-attr]
    assert events[2].reason == (  # type: ignore[union-attr]
        "The caller is calmer since you acknowledged them. "
        'The caller said "Thank you. I just need my scan date".'
    )
    assert events[2].details == (  # type: ignore[union-attr]
        'agent said "Anyone would be frustrated after a morning like that."',
        "distress fell from 0.70 to 0.45",
        "distress 0.45",
    )


def test_sustained_distress_offers_counselling_once() -> None:
    events = replay(script("sustained_distress"), tail_s=60)
    assert summary(events) == [
        # "I don't see the point of anything": hopelessness, a gentle safety question
        ("created", "safety_check_in", 25.0, "n1"),
        # distress 0.80 since 3 s, held for 45 s
        ("created", "offer_counselling", 48.0, "n2"),
        ("resolved", "offer_counselling", 54.0, "agent_said"),
        ("resolved", "safety_check_in", 115.0, "expired"),
    ]
    assert not events[0].escalate  # type: ignore[union-attr]
    assert "distress 0.80 for 45 s" in events[1].details  # type: ignore[union-attr]


def test_a_stored_call_replays_through_a_changed_playbook() -> None:
    pb = load_playbook()
    rules = [
        r.model_copy(update={"enabled": False}) if r.id == "validate_feelings" else r
        for r in pb.rules
    ]
    edited = parse_playbook(dump_playbook(pb.model_copy(update={"rules": rules})))
    events = replay(script("frustrated"), edited, tail_s=60)
    assert summary(events) == [
        ("created", "positive_note", 16.0, "n1"),
        ("resolved", "positive_note", 36.0, "expired"),
    ]
