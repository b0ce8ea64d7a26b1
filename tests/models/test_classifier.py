"""CareClassifier with the committed heads and the real MiniLM encoder."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from models.classifier import MAX_CHARS, load_classifier
from models.signals import CONCERNS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clf():
    return load_classifier()


def test_scores_are_well_formed(clf) -> None:
    s = clf.score("I'm worried about my test results.")
    assert set(s.concerns) == set(CONCERNS)
    assert 0.0 <= s.distress <= 1.0
    assert all(0.0 <= v <= 1.0 for v in s.concerns.values())
    assert s.evidence == "I'm worried about my test results."


@pytest.mark.parametrize(
    "text",
    [
        "Hi, could you tell me if my prescription is ready to collect?",
        "I need to move my physio appointment to next Wednesday.",
        "What's the email address for the billing office?",
        "My date of birth is the twelfth of March, nineteen fifty-eight.",
    ],
)
def test_routine_requests_are_calm(clf, text: str) -> None:
    s = clf.score(text)
    assert s.distress < 0.5
    assert not s.crisis
    assert max(v for c, v in s.concerns.items()) < 0.5


def test_distress_orders_distressed_above_routine(clf) -> None:
    upset = clf.score("I'm terrified and I can't stop crying, everything is falling apart.")
    routine = clf.score("Can I book an appointment for Tuesday afternoon?")
    assert upset.distress >= 0.5 > routine.distress


@pytest.mark.parametrize(
    ("text", "concern"),
    [
        ("I'm so scared the tumour has come back.", "fear"),
        ("My wife died last month and I just feel empty.", "sadness"),
        ("This is the fourth time I've called and nobody ever calls me back!", "frustration"),
        ("I don't understand which of these tablets I'm meant to take at night.", "confusion"),
        ("I live alone and nobody has visited me in weeks.", "isolation"),
        ("My knee is throbbing and it hurts to walk.", "pain"),
        ("Thank you so much, that's such a relief.", "gratitude"),
    ],
)
def test_each_concern_is_the_top_one_for_a_clear_example(clf, text: str, concern: str) -> None:
    s = clf.score(text)
    assert max(s.concerns, key=lambda c: s.concerns[c]) == concern
    assert s.concerns[concern] >= 0.5
    assert not s.crisis


def test_crisis_phrase_flags_and_lifts_distress(clf) -> None:
    s = clf.score("Thanks for asking. Honestly, I've been thinking about ending my life.")
    assert s.crisis
    assert s.concerns["crisis"] >= 0.95
    assert s.distress >= 0.85
    assert s.evidence == "Honestly, I've been thinking about ending my life."
    assert "ending my life" in s.crisis_phrases


def test_medical_red_flag_is_crisis(clf) -> None:
    s = clf.score("My dad's face is drooping on one side and his speech is slurred.")
    assert s.crisis and s.distress >= 0.85


def test_denied_crisis_is_not_crisis(clf) -> None:
    s = clf.score("I'm not suicidal, I just need my repeat prescription.")
    assert not s.crisis
    assert s.concerns["crisis"] < 0.5


def test_denial_does_not_carry_the_distress_score(clf) -> None:
    # Without the denial handling, the word "suicidal" alone drives distress to ~0.9.
    denied = clf.score("I'm not suicidal, I just need my refill.")
    rest = clf.score("I just need my refill.")
    # (the fine-tuned distress model hears the cut text "I'm , I just need my refill." as a
    # little less calm than "I just need my refill.": 0.36 vs 0.07; both calm)
    assert denied.distress == pytest.approx(rest.distress, abs=0.3)
    assert denied.distress < 0.5


def test_bare_denial_is_not_a_crisis(clf) -> None:
    s = clf.score("I'm not suicidal.")
    assert not s.crisis and s.concerns["crisis"] < 0.5


def test_denial_does_not_hide_what_follows(clf) -> None:
    s = clf.score("I'm not suicidal, but I can't breathe and my chest is tight.")
    assert s.crisis
    assert "breathe" in s.evidence


def test_negation_moves_the_concern(clf) -> None:
    s = clf.score("I'm not worried about the cost, it's the pain in my hip that's getting to me.")
    assert s.concerns["pain"] >= 0.5
    assert s.concerns["pain"] > s.concerns["fear"]


def test_evidence_is_the_clause_that_drove_the_score(clf) -> None:
    text = (
        "Yes, my date of birth is the third of May. "
        "I'm so frightened that the cancer has spread and I can't sleep. "
        "The postcode is the same as before."
    )
    s = clf.score(text)
    assert s.evidence == "I'm so frightened that the cancer has spread and I can't sleep."
    assert s.evidence in text


def test_evidence_in_unpunctuated_asr_text_is_a_verbatim_run(clf) -> None:
    text = (
        "yeah so I rang them on monday and they said to call back on thursday and "
        "honestly I'm just so scared that something is really wrong with my heart "
        "and then the letter came about the parking permit"
    )
    s = clf.score(text)
    assert s.evidence in text
    assert "scared" in s.evidence
    assert len(s.evidence.split()) <= 20


def test_batch_matches_single(clf) -> None:
    texts = ["I can't breathe", "Thank you, bye.", "I'm fed up with waiting.", ""]
    batch = clf.score_batch(texts)
    for text, b in zip(texts, batch, strict=True):
        one = clf.score(text)
        assert one.crisis == b.crisis and one.evidence == b.evidence
        assert one.distress == pytest.approx(b.distress, abs=1e-4)
        for c in CONCERNS:
            assert one.concerns[c] == pytest.approx(b.concerns[c], abs=1e-4)


@pytest.mark.parametrize("bad", ["", "   \n\t ", None, 42, 3.5, ["list"], {"text": "x"}])
def test_bad_input_scores_neutral_and_never_raises(clf, bad) -> None:
    s = clf.score(bad)
    assert s.distress == 0.0 and not s.crisis and s.evidence == ""
    assert all(v == 0.0 for v in s.concerns.values())


def test_bytes_and_control_characters(clf) -> None:
    s = clf.score(b"I'm really scared\x00\x07 about the operation")
    assert s.concerns["fear"] >= 0.5
    assert "\x00" not in s.evidence


def test_very_long_text_is_truncated_with_a_note(clf) -> None:
    long_text = "I am calling about the appointment letter. " * 2000
    s = clf.score(long_text)
    assert s.truncated
    assert len(s.evidence) <= MAX_CHARS
    assert not s.crisis


def test_red_flag_at_the_end_of_a_long_text_still_flags(clf) -> None:
    s = clf.score("I am calling about the appointment letter. " * 2000 + "I can't breathe.")
    assert s.truncated and s.crisis
    assert s.evidence == "I can't breathe."


def test_scores_are_deterministic(clf) -> None:
    a = clf.score("I'm worried and a bit confused about the new dose.")
    b = clf.score("I'm worried and a bit confused about the new dose.")
    assert a == b


def test_token_attribution_is_exact(clf) -> None:
    # The evidence rests on: features = mean-pooled token states, heads linear, so the
    # token contributions sum exactly to the head's logit minus its bias.
    from models.classifier import pooled_features, token_contributions

    text = "I'm fine with the time, but I'm scared of the surgery."
    st = clf.encoder.token_states([text], clf.layers)[0]
    feats, norms = pooled_features(st.states)
    w = clf._w[0]
    contrib = token_contributions(st.states, norms, w)
    assert float(contrib.sum()) == pytest.approx(float(w @ feats), rel=1e-4, abs=1e-4)
    assert np.isfinite(contrib).all()


def test_a_named_risk_factor_makes_a_moderate_self_harm_reading_urgent(clf) -> None:
    """The risk-factor tier, through the shipped scoring path: the model reads this plan at the
    gentle-check level, and the means and time it names ("tablets", "this weekend") make it
    urgent. Without the tier it would be the gentle check; the words alone raise nothing."""
    text = "The kids are at their dad's this weekend, so that's when. I've got the tablets ready."
    assert clf.score(text).red_flags == ("self_harm",)
    without = copy.copy(clf)
    without.red_flag_policy = replace(clf.red_flag_policy, risk_factor_self_harm=2.0)
    assert without.score(text).red_flags == ("safety_check",)
    assert clf.score("Could I have my tablets delivered tonight?").red_flags == ()


def test_the_score_says_when_a_self_harm_flag_is_about_someone_else(clf) -> None:
    theirs = clf.score("My husband says he's going to kill himself tonight.")
    assert "self_harm" in theirs.red_flags and theirs.about_others == ("self_harm",)
    mine = clf.score("I'm going to kill myself tonight.")
    assert "self_harm" in mine.red_flags and mine.about_others == ()
    # batch scoring carries it too
    batch = clf.score_batch(
        ["she texted me that she is going to end her life", "I want to end my life"]
    )
    assert [s.about_others for s in batch] == [("self_harm",), ()]


# Someone's expected decline at the end of life is for their palliative team, not 999: the
# red-flag model escalated four of these as emergencies, and its emergency probability asked
# for the gentle safety check on four more (issue 9, eleventh round). An emergency said in
# words the patterns know, or anything happening now, still raises the flag.
EXPECTED_DECLINE = [
    "my dad's on end of life care and his kidneys are shutting down",
    "Mum's in the hospice and she's stopped eating, they said days now",
    "my grandmother's end stage, she's sleeping most of the day and not drinking much",
    "the palliative nurse says my husband's not got long, his breathing has changed",
    "my wife is terminally ill and she's getting more confused and agitated at night",
    "Dad's on a syringe driver now and he hasn't woken properly since yesterday",
    "we've been told to prepare ourselves, mum's organs are shutting down",
    "my brother's on borrowed time with his heart, he can't get out of bed now",
    "they've stopped all grandad's tablets in the hospice and he's very drowsy",
    "my aunt is dying of cancer and her breathing sounds rattly",
    "the hospice said there's nothing more they can do for my dad, he's barely conscious",
]
EMERGENCY_IN_END_OF_LIFE_CARE = [
    "Dad's terminal and he's just collapsed and isn't breathing",
    "my mum's in palliative care and suddenly she can't breathe",
    "he's dying, his lips are blue and he's not breathing right",
]


@pytest.mark.parametrize("text", EXPECTED_DECLINE)
def test_an_expected_decline_at_the_end_of_life_raises_no_red_flag(clf, text: str) -> None:
    assert clf.score(text).red_flags == ()


@pytest.mark.parametrize("text", EMERGENCY_IN_END_OF_LIFE_CARE)
def test_an_emergency_in_end_of_life_care_still_raises_the_flag(clf, text: str) -> None:
    assert "emergency" in clf.score(text).red_flags


# Issue 9, sixteenth round: a caller accepting an offer ("Shall I book you in?" - "Oh that
# would be amazing, thank you") escalated an ordinary training call: the learned model read
# "that would be amazing" at p(self-harm) 0.994 and asked the safety question on "that would
# be great". Words that only accept or thank say nothing of the caller's state.
ACCEPTANCES = [
    "that would be amazing",
    "Oh that would be wonderful.",
    "please yeah that would be amazing thank you",
    "That would be great, thank you so much.",
    "thatd be brilliant ta",
    "yes please that would be lovely",
]


@pytest.mark.parametrize("text", ACCEPTANCES)
def test_accepting_an_offer_raises_no_red_flag(clf, text: str) -> None:
    assert clf.score(text).red_flags == ()


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("that would be amazing, to go to sleep and never wake up", "self_harm"),
        ("Oh that would be wonderful. Then they'd all be better off without me.", "self_harm"),
        ("that would be great thank you, I can't breathe", "emergency"),
    ],
)
def test_anything_said_beside_an_acceptance_is_still_read(clf, text: str, flag: str) -> None:
    assert flag in clf.score(text).red_flags


# Issue 9, seventeenth round: a reviewer's sentences about jokes (``review_17_jokes.json``).
# A rule that let a joke taken back ask the gentle check instead of escalating lost 29 of its
# 35 real risks ("everyone thinks I'm just joking but I mean it", "I say I'm only joking so my
# wife doesn't worry") and was reverted; what the shipped system gets right stays right.
REVIEW_17_JOKES = json.loads(
    (Path(__file__).parent / "review_17_jokes.json").read_text(encoding="utf-8")
)["cases"]


@pytest.mark.parametrize("case", REVIEW_17_JOKES, ids=lambda c: c["text"][:60])
def test_review_17_jokes(clf, case: dict[str, str]) -> None:
    flags = set(clf.score(case["text"]).red_flags)
    if case["expect"] == "self_harm":
        assert "self_harm" in flags
    else:
        assert not {"self_harm", "emergency"} & flags
