"""The review's rules on small hand-made calls (``app.review.scoring``): no store, no server."""

from __future__ import annotations

from typing import Any

import pytest

from app.review import Phrases, review_call

PH = Phrases()


Call = tuple[dict[str, Any], list[dict[str, Any]]]


def _call(lines: list[tuple[Any, ...]], *, active: bool = False,
          nudges: list[dict[str, Any]] | None = None) -> Call:
    """``lines``: (speaker, text, start_s, end_s[, distress, concerns, crisis])."""
    transcript, events = [], []
    for i, (speaker, text, start, end, *sig) in enumerate(lines):
        seg = f"s{i}"
        transcript.append({"segment_id": seg, "speaker": speaker, "text": text,
                           "start_s": start, "end_s": end})
        events.append({"type": "transcript.final", "data": {"speaker": speaker,
                                                            "segment_id": seg}})
        if sig:
            distress, concerns, *crisis = sig
            events.append({"type": "signals.updated", "data": {
                "distress": distress, "active": list(concerns), "trend": "steady",
                "crisis": bool(crisis and crisis[0]), "at_s": end}})
    call = {"call_id": "C", "agent_id": "A", "source": "test", "started_at": None,
            "ended_at": None, "active": active, "transcript": transcript, "signals": [],
            "nudges": nudges or [], "feedback": []}
    return call, events


def _part(review: Any, key: str) -> Any:
    return next(p for p in review.score.parts if p.key == key)


@pytest.mark.parametrize(("text", "ack"), [
    ("That sounds really frightening.", True),
    ("I'm so sorry you're going through this.", True),
    ("I understand. Can I have your date of birth?", False),
    ("Okay.", False),
])
def test_what_counts_as_an_acknowledgement(text: str, ack: bool) -> None:
    assert PH.acknowledges(text) is ack


def test_a_quick_acknowledgement_scores_full_marks_and_no_missed_moment() -> None:
    r = review_call(*_call([
        ("caller", "I'm so scared about my results.", 0.0, 3.0, 0.8, ["fear"]),
        ("agent", "That sounds really frightening.", 4.0, 6.0),
        ("caller", "Thank you.", 6.5, 7.0, 0.5, []),
    ]), PH)
    assert _part(r, "time_to_acknowledge").score == 100.0
    assert _part(r, "concerns_acknowledged").score == 100.0
    assert [m.type for m in r.moments] == ["acknowledged_and_calmed"]


def test_a_concern_passed_over_is_missed_once_the_call_ends_not_while_live() -> None:
    lines = [
        ("caller", "I'm so scared about my results.", 0.0, 3.0, 0.8, ["fear"]),
        ("agent", "What is your date of birth?", 4.0, 6.0),
    ]
    ended = review_call(*_call(lines), PH)
    assert [m.type for m in ended.moments] == ["concern_unacknowledged"]
    assert _part(ended, "concerns_acknowledged").score == 0.0
    assert _part(ended, "time_to_acknowledge").inputs["mean_delay_s"] == 30.0
    live = review_call(*_call(lines, active=True), PH)
    assert live.moments == []  # 20 s have not passed yet


def test_interruption_and_long_silence() -> None:
    r = review_call(*_call([
        ("caller", "I've been waiting three weeks and nobody calls me back", 0.0, 6.0, 0.6,
         ["frustration"]),
        ("agent", "Right, so", 2.0, 3.0),  # starts 2 s in, the caller goes on 3 s
        ("agent", "I'm so sorry you're going through this.", 20.0, 22.0),  # 14 s silence
    ]), PH)
    assert _part(r, "interruptions").inputs["interruptions"] == 1
    types = [m.type for m in r.moments]
    assert "caller_cut_off" in types and "long_silence" in types


def test_a_calm_caller_keeps_full_marks_for_distress_and_no_concerns_is_not_applicable() -> None:
    r = review_call(*_call([
        ("caller", "I'd like to move my appointment.", 0.0, 2.0, 0.1, []),
        ("agent", "Of course, which day suits you?", 2.5, 4.0),
        ("caller", "Thursday, please.", 4.5, 5.5, 0.05, []),
    ]), PH)
    assert _part(r, "distress_change").score == 100.0
    assert _part(r, "time_to_acknowledge").applicable is False
    assert _part(r, "crisis_handling").applicable is False
    # the overall score is the mean of the parts that apply
    applicable = [p for p in r.score.parts if p.applicable]
    assert {p.key for p in applicable} == {"interruptions", "talk_share", "distress_change"}
    assert r.score.overall == 100.0


def test_distress_rising_scores_below_half() -> None:
    r = review_call(*_call([
        ("caller", "I'm a bit worried.", 0.0, 2.0, 0.4, ["fear"]),
        ("agent", "Please hold.", 2.5, 3.0),
        ("caller", "This is making it worse, I'm panicking now.", 30.0, 33.0, 0.9, ["fear"]),
    ]), PH)
    part = _part(r, "distress_change")
    assert part.inputs["start"] == 0.4 and part.inputs["end"] == 0.9
    assert part.score == 0.0  # 50 + 100 * (0.4 - 0.9), clamped


def test_nothing_said_has_no_overall_score() -> None:
    r = review_call(*_call([]), PH)
    assert r.score.overall is None and all(not p.applicable for p in r.score.parts)
    assert r.summary.startswith("A ")


def _crisis_call(caller: str, agent: str, about_others: list[str]) -> Call:
    call, events = _call([
        ("caller", caller, 0.0, 3.0),
        ("agent", agent, 3.5, 6.0),
    ])
    events.insert(1, {"type": "signals.updated", "data": {
        "distress": 0.9, "active": ["crisis"], "trend": "rising", "crisis": True,
        "red_flags": ["self_harm"], "red_flags_about_others": about_others, "at_s": 3.0}})
    return call, events


def test_asking_after_the_person_at_risk_is_the_protocol_only_when_it_is_someone_else() -> None:
    asked_after_him = "Is he with you right now, and is he safe?"
    theirs = review_call(*_crisis_call(
        "My husband says he's going to kill himself tonight.", asked_after_him, ["self_harm"]
    ), PH)
    assert _part(theirs, "crisis_handling").score == 100.0
    # the caller's own risk: asking about him is not asking about her
    mine = review_call(*_crisis_call(
        "I'm going to kill myself tonight, he won't stop me.", asked_after_him, []
    ), PH)
    assert _part(mine, "crisis_handling").score == 0.0
