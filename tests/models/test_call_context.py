"""The caller's turns read together (``models/call_context.py``): risk no single sentence
states, goodbyes the call has explained, and the real classifier on whole calls."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from asr.types import TranscriptFinal
from models.call_context import MEMORY_S, CallContext, read_cues
from models.clock import FakeClock
from models.evaluate_calls import (
    CALL_SETS,
    CALLS_DESIGN_PATH,
    CALLS_HELDOUT13_PATH,
    CALLS_HELDOUT14_PATH,
    CALLS_HELDOUT15_PATH,
    CALLS_HELDOUT16_PATH,
    CALLS_HELDOUT17_PATH,
    CALLS_HELDOUT18_PATH,
    CALLS_REVIEW13_PATH,
    TRAINING_CALL_SETS,
    first_escalation,
    load_calls,
)
from models.scorer import ScorerConfig, WindowScorer
from models.signals import CONCERNS, TextScore


def score(
    *flags: str, others: tuple[str, ...] = (), pids: tuple[str, ...] = (), evidence: str = ""
) -> TextScore:
    urgent = any(f in ("self_harm", "emergency") for f in flags)
    values = dict.fromkeys(CONCERNS, 0.0)
    values["crisis"] = 0.95 if urgent else 0.1
    return TextScore(
        0.9 if urgent else 0.3,
        MappingProxyType(values),
        urgent,
        evidence,
        red_flags=flags,
        about_others=others,
        self_harm_patterns=pids,
    )


def run(turns: list[tuple[str, TextScore]], gap_s: float = 10.0) -> list[TextScore]:
    ctx = CallContext()
    return [ctx.judge(text, s, i * gap_s) for i, (text, s) in enumerate(turns)]


HOPELESS = "Honestly I'm that worn out. I just can't keep going round in circles."
FAREWELL = "No, cancel the lot, please. I won't be needing any of them after this week."


def test_a_farewell_after_hopelessness_raises_self_harm_quoting_both() -> None:
    out = run(
        [
            ("Hello, it's about my appointments.", score()),
            (HOPELESS, score("safety_check")),
            (FAREWELL, score()),
        ]
    )
    assert [s.red_flags for s in out[:2]] == [(), ("safety_check",)]
    last = out[2]
    assert last.red_flags == ("self_harm",) and last.crisis and last.across_call
    assert last.concerns["crisis"] >= 0.5 and last.distress >= 0.85
    assert "can't keep going round" in last.evidence and "cancel the lot" in last.evidence


def test_either_sentence_alone_raises_nothing() -> None:
    assert run([(HOPELESS, score("safety_check"))])[0].red_flags == ("safety_check",)
    assert run([(FAREWELL, score())])[0].red_flags == ()
    # hopelessness said twice is still the gentle check, not an escalation
    out = run([(HOPELESS, score("safety_check")), ("What's the point anyway.", score())])
    assert not out[1].crisis


def test_preparations_then_a_burden_raise_self_harm() -> None:
    out = run(
        [
            ("I've given the dog to my sister and done my will online.", score()),
            ("Date of birth, first of May.", score()),
            ("The world will carry on fine without me.", score()),
        ]
    )
    assert out[2].red_flags == ("self_harm",) and out[2].across_call


def test_a_turn_without_a_cue_raises_nothing_after_the_call_turned_risky() -> None:
    out = run(
        [
            (HOPELESS, score("safety_check")),
            (FAREWELL, score()),
            ("Twelve Kingsway, Darlington.", score()),
        ]
    )
    assert out[1].crisis and not out[2].crisis


def test_a_move_explains_a_goodbye_the_patterns_escalated() -> None:
    out = run(
        [
            ("I'm moving into a care home next week, my son said to let you know.", score()),
            (
                "So this is goodbye, I'm afraid.",
                score("self_harm", pids=("saying_goodbye",)),
            ),
            (
                "You've all been so kind to me over the years, I'll miss you all.",
                score("self_harm"),  # the learned model alone
            ),
        ]
    )
    assert [s.red_flags for s in out] == [(), (), ()]
    assert not any(s.crisis for s in out) and out[1].concerns["crisis"] < 0.5


def test_a_move_does_not_explain_goodbyes_after_hopelessness_or_a_plan() -> None:
    out = run(
        [
            ("I'm moving in with my daughter.", score()),
            ("I've had enough of all of it, honestly.", score("safety_check")),
            ("So this is goodbye.", score("self_harm", pids=("saying_goodbye",))),
        ]
    )
    assert out[2].red_flags == ("self_harm",)
    out = run(
        [
            ("We're emigrating to Perth.", score()),
            ("I've got a fair few put by.", score()),
            ("So this is goodbye.", score("self_harm", pids=("saying_goodbye",))),
        ]
    )
    assert out[2].red_flags == ("self_harm",)


def test_a_move_never_explains_an_intent_the_patterns_read() -> None:
    out = run(
        [
            ("I'm moving abroad next month.", score()),
            ("I'm going to take them all tonight.", score("self_harm", pids=("plan_pills",))),
        ]
    )
    assert out[1].red_flags == ("self_harm",)


def test_a_bereaved_callers_thanks_and_low_mood_are_not_risk() -> None:
    out = run(
        [
            ("My husband died on Tuesday, I need to cancel his appointments.", score()),
            ("What's the point of cooking for one.", score("safety_check")),
            ("Tell Dr Shah thank you for everything she did for him.", score()),
        ]
    )
    assert not any(s.crisis for s in out)


def test_someone_elses_words_carry_no_cue() -> None:
    cues = read_cues(
        "My son says he's had enough and we'd be better off without him.",
        score("self_harm", others=("self_harm",)),
    )
    assert not cues.any
    out = run(
        [
            ("He says he's had enough.", score("safety_check", others=("safety_check",))),
            ("He's given his dog away.", score("self_harm", others=("self_harm",))),
        ]
    )
    assert out[1].red_flags == ("self_harm",) and not out[1].across_call


def test_cues_older_than_the_calls_memory_are_forgotten() -> None:
    ctx = CallContext()
    ctx.judge(HOPELESS, score("safety_check"), 0.0)
    assert not ctx.judge(FAREWELL, score(), MEMORY_S + 1.0).crisis
    ctx.reset()
    ctx.judge(HOPELESS, score("safety_check"), 0.0)
    assert ctx.judge(FAREWELL, score(), MEMORY_S - 1.0).crisis


class _Table:
    def __init__(self, table: dict[str, TextScore]) -> None:
        self.table = table

    def score(self, text: str) -> TextScore:
        return self.table[text]


def _through_scorer(config: ScorerConfig) -> tuple[bool, bool]:
    clock = FakeClock()
    sc = WindowScorer(
        _Table({HOPELESS: score("safety_check"), FAREWELL: score()}), clock, config=config
    )
    sc.add_final(TranscriptFinal("caller", HOPELESS, 0.0, 3.0))
    clock.advance(60.0)  # the hopeless words have left the 20 s window
    s = sc.add_final(TranscriptFinal("caller", FAREWELL, 60.0, 63.0))
    return s.crisis, "self_harm" in s.red_flags


def test_the_window_scorer_reads_the_whole_call_and_can_be_told_not_to() -> None:
    assert _through_scorer(ScorerConfig()) == (True, True)
    assert _through_scorer(ScorerConfig(call_context=False)) == (False, False)


# --- the real classifier on whole calls ------------------------------------------------------


# Design calls (``crisis_calls_design.jsonl``, written blind for this round): the context
# catches these risk calls that no single turn escalates, and clears these ordinary calls of
# a goodbye the patterns or the model escalated.
CAUGHT = ["cd_f01", "cd_f02", "cd_f04", "cd_f11", "cd_f12", "cd_f17", "cd_f20", "cd_f22"]
CLEARED = ["cd_f64", "cd_f66", "cd_f67", "cd_f68", "cd_f70"]


@pytest.mark.slow
def test_real_calls_through_the_scorer() -> None:
    from models.classifier import load_classifier

    clf = load_classifier()
    calls = {c.id: c for c in load_calls(CALLS_DESIGN_PATH)}
    for cid in CAUGHT:
        call = calls[cid]
        assert first_escalation(clf, call, context=False) is None, cid
        at = first_escalation(clf, call, context=True)
        assert at is not None and call.escalate_at is not None and at <= call.escalate_at, cid
    for cid in CLEARED:
        assert first_escalation(clf, calls[cid], context=False) is not None, cid
        assert first_escalation(clf, calls[cid], context=True) is None, cid


def test_a_call_set_names_the_caller_turn_to_escalate_at(tmp_path: Path) -> None:
    good = {
        "id": "x",
        "family": "x",
        "label": "self_harm",
        "category": "c",
        "form": "asr",
        "escalate_at": 0,
        "turns": [{"speaker": "caller", "text": "hi"}, {"speaker": "agent", "text": "hello"}],
    }
    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps(good) + "\n")
    assert load_calls(path)[0].escalate_at == 0
    for bad in ({"escalate_at": 1}, {"escalate_at": None}, {"label": "none"}, {"label": "x"}):
        path.write_text(json.dumps({**good, **bad}) + "\n")
        with pytest.raises(ValueError, match="calls.jsonl:1"):
            load_calls(path)


def test_the_held_out_calls_share_no_family_or_sentence_with_the_training_calls() -> None:
    training = [c for name in TRAINING_CALL_SETS for c in load_calls(CALL_SETS[name])]

    def callers(calls: list, min_words: int) -> set[str]:
        return {
            t.text.strip().lower()
            for c in calls
            for t in c.turns
            if t.speaker == "caller" and len(t.text.split()) >= min_words
        }

    # heldout13 to heldout18 share no caller sentence at all; review13 one
    # three-word reply ("yes, that's right" may recur), so there only sentences long enough
    # to carry a phrasing.
    held_out = (
        (CALLS_HELDOUT13_PATH, 1, 60),
        (CALLS_REVIEW13_PATH, 5, 60),
        (CALLS_HELDOUT14_PATH, 1, 60),
        (CALLS_HELDOUT15_PATH, 1, 60),
        (CALLS_HELDOUT16_PATH, 1, 60),
        (CALLS_HELDOUT17_PATH, 1, 32),
        (CALLS_HELDOUT18_PATH, 1, 32),
    )
    assert {p for p, _, _ in held_out} == {
        p for name, p in CALL_SETS.items() if name not in TRAINING_CALL_SETS
    }
    for path, min_words, n in held_out:
        held = load_calls(path)
        assert len(held) >= n, path.name
        assert {c.label for c in held} == {"self_harm", "none"}, path.name
        assert not {c.id for c in training} & {c.id for c in held}, path.name
        shared = callers(training, min_words) & callers(held, min_words)
        assert not shared, f"{path.name}: {len(shared)} shared caller sentences"  # never the text


# -- the learned cue head (issue 9, fourteenth round) -------------------------------------------


def cued(*cues: str, flags: tuple[str, ...] = (), evidence: str = "") -> TextScore:
    return replace(score(*flags, evidence=evidence), cues=cues)


WORN = "I honestly can't see it ever being any different for me, whatever anyone does."
SETTLED = "I've put a note in the drawer with everything our Jenny will need to know."


def test_the_cue_head_reads_cues_the_word_lists_miss_quoting_the_evidence() -> None:
    assert not read_cues(WORN, score()).any and not read_cues(SETTLED, score()).any
    got = read_cues(WORN, cued("hopeless", evidence="can't see it ever being any different"))
    assert got.words == {"hopeless": "can't see it ever being any different"}
    short = read_cues(SETTLED, cued("farewell")).words["farewell"]  # no evidence: the turn
    assert short.rstrip("\u2026") in SETTLED and len(short) <= 42


def test_a_head_cue_quotes_the_clause_that_carried_it() -> None:
    turn = "Tom Garside, Low Fell Farm. " + WORN
    s = replace(cued("hopeless", evidence="Tom Garside, Low Fell Farm."), cue_evidence=WORN)
    assert read_cues(turn, s).words["hopeless"].rstrip("\u2026") in WORN


@pytest.mark.slow
def test_the_shipped_cue_head_reads_hopelessness_and_quotes_its_clause() -> None:
    from models.classifier import load_classifier

    clf = load_classifier()
    said = "Morning love. I can't see it ever being any different for me now."
    s = clf.score(said)
    assert "hopeless" in s.cues
    assert s.cue_evidence == "I can't see it ever being any different for me now."
    calm = clf.score("Morning love. Could I book a blood test for next Tuesday, please?")
    assert calm.cues == () and calm.cue_evidence == ""


def test_cues_the_head_reads_across_turns_raise_self_harm() -> None:
    words_only = run([(WORN, score()), (SETTLED, score())])
    assert [s.red_flags for s in words_only] == [(), ()]
    out = run([(WORN, cued("hopeless")), (SETTLED, cued("farewell"))])
    assert out[0].red_flags == () and out[1].red_flags == ("self_harm",) and out[1].across_call


def test_only_the_word_lists_give_an_ordinary_reason() -> None:
    """A wrong reason would silence a real farewell: the head's names are the four cues, and
    a "reason" in a score's cues explains nothing."""
    hopeless = score("safety_check")
    leaving = "Yeah, it's been a long year, what with everything."
    out = run([(WORN, hopeless), (leaving, cued("reason")), (SETTLED, cued("farewell"))])
    assert out[2].red_flags == ("self_harm",)


def _heads(names: tuple[str, ...], thresholds: list[float]):  # type: ignore[no-untyped-def]
    import numpy as np

    from models.classifier import CONCERN_ARTIFACT, DISTRESS_ARTIFACT, LinearHeads

    distress, concerns = LinearHeads.load(DISTRESS_ARTIFACT), LinearHeads.load(CONCERN_ARTIFACT)
    dim = len(distress.layers) * 384
    n = len(names)
    heads = LinearHeads(
        names, distress.layers, np.zeros((n, dim), np.float32), np.zeros(n, np.float32),
        np.array(thresholds, np.float32),  # every head reads p = 0.5
    )
    return distress, concerns, heads, dim


def test_the_classifier_reports_the_cues_at_or_over_their_thresholds() -> None:
    import numpy as np

    from models.classifier import CareClassifier

    distress, concerns, heads, dim = _heads(
        ("hopeless", "farewell", "burden", "plan"), [0.4, 0.5, 0.6, 2.0]
    )
    feats = np.ones(dim * 2, np.float32)  # frozen features, then the tuned distress features
    assert CareClassifier(distress, concerns, cue_head=heads).cue_kinds(feats) == (
        "hopeless", "farewell",
    )
    assert CareClassifier(distress, concerns).cue_kinds(feats) == ()


def test_a_cue_head_of_other_names_or_shapes_is_refused() -> None:
    from models.classifier import CareClassifier, ClassifierLoadError

    distress, concerns, heads, _ = _heads(("hopeless", "reason"), [0.5, 0.5])
    with pytest.raises(ClassifierLoadError, match="not call cues"):
        CareClassifier(distress, concerns, cue_head=heads)
    _, _, short, _ = _heads(("hopeless", "farewell"), [0.5])
    with pytest.raises(ClassifierLoadError, match="do not match"):
        short.check()
