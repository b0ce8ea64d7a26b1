"""The hard crisis set: its shape, and the red flags raised on it in both directions.

The data (``models/data/crisis_hard.jsonl``) was written as phrasing families and split
train/test by family; the reviewed patterns were written against the train split only.
The measured numbers on the test split live in ``bench/results/classifier.json``
(``crisis_hard``); these tests pin behaviour an agent relies on.
"""

from __future__ import annotations

from collections import Counter

import pytest

from models.crisis import detect
from models.datasets import (
    CRISIS_EXTRA_PATH,
    crisis_training_rows,
    load_crisis_rows,
)
from models.evaluate_crisis import evaluate

# Said on medical lines every day: none of these may raise any red flag.
ORDINARY_FEAR_GRIEF_AND_IDIOMS = [
    "I'm terrified.",
    "I am scared.",
    "I don't know what to do.",
    "I could just die of embarrassment.",
    "My mother is dying and nobody will help.",
    "We were married forty years and I don't know what to do without him.",
    "I'm scared I'm going to die from this.",
    "This headache is killing me.",
    "I nearly died when I saw the bill.",
    "I'd rather die than go back to that ward.",
    "My phone is dead, sorry if I cut out.",
    "I had chest pain last year, it turned out to be reflux.",
    "My son died of an overdose two years ago.",
    "I'm not suicidal, I just need my refill.",
]

SELF_HARM_SAID_INDIRECTLY = [
    "I've been saving my tablets for weeks and tonight's the night.",
    "I'm standing on the bridge right now.",
    "I've written letters to the kids saying goodbye.",
    "Everyone would be better off without me.",
    "I took all my sleeping tablets an hour ago because I wanted it to stop.",
    "I have the pills here and I'm going to take them all tonight.",
    "I've bought a rope.",
]

EMERGENCIES_NOW = [
    "I've got crushing chest pain right now and it's going down my left arm.",
    "I can't breathe properly.",
    "His face is drooping and his speech is slurred.",
    "My husband's collapsed and he's not responding.",
]

AMBIGUOUS_HOPELESSNESS = [
    "I can't go on like this.",
    "What's the point anymore?",
    "I just can't cope anymore.",
]


def test_the_hard_set_has_the_size_and_split_it_claims() -> None:
    rows = load_crisis_rows()
    labels = Counter(r.label for r in rows)
    assert labels["none"] >= 300 and labels["self_harm"] >= 150
    assert labels["emergency"] > 0 and labels["safety_check"] > 0
    # whole phrasing families on one side (load_crisis_rows refuses a family that straddles)
    for split in ("train", "test"):
        cats = {(r.label, r.category) for r in rows if r.split == split}
        assert ("none", "idiom") in cats and ("self_harm", "plan_means_time") in cats
    families = {r.family: r.split for r in rows}
    assert set(families.values()) == {"train", "test"}


def test_training_rows_never_include_a_test_sentence() -> None:
    test = {r.text.lower().strip(" .?!") for r in load_crisis_rows() if r.split == "test"}
    train = crisis_training_rows()
    assert not {r.text.lower().strip(" .?!") for r in train} & test
    # the extra set had three sentences of the brief that also appear in the test split
    assert len(train) < len([r for r in load_crisis_rows() if r.split == "train"]) + len(
        load_crisis_rows(CRISIS_EXTRA_PATH)
    )


@pytest.mark.parametrize("text", ORDINARY_FEAR_GRIEF_AND_IDIOMS)
def test_fear_grief_idioms_and_history_raise_no_red_flag(text: str) -> None:
    assert detect(text).kinds == ()


@pytest.mark.parametrize("text", SELF_HARM_SAID_INDIRECTLY)
def test_self_harm_without_the_obvious_words_is_caught(text: str) -> None:
    assert "self_harm" in detect(text).kinds


@pytest.mark.parametrize("text", EMERGENCIES_NOW)
def test_emergencies_happening_now_are_caught(text: str) -> None:
    assert "emergency" in detect(text).kinds


@pytest.mark.parametrize("text", AMBIGUOUS_HOPELESSNESS)
def test_ambiguous_hopelessness_asks_gently_and_does_not_escalate(text: str) -> None:
    result = detect(text)
    assert result.kinds == ("safety_check",)
    assert not result.flagged


def test_the_patterns_cover_their_training_split_in_both_directions() -> None:
    # In-sample by construction: this guards the reviewed list from regressions when a
    # pattern is edited. Generalisation is measured on the test split by the bench.
    rows = [r for r in load_crisis_rows() if r.split == "train"]
    m = evaluate([detect(r.text).kinds for r in rows], rows)
    for kind in ("self_harm", "emergency", "safety_check"):
        assert m[kind]["recall"] == 1.0, kind  # type: ignore[index]
    assert m["false_alarm_rate"] is not None and m["false_alarm_rate"] <= 0.01


def test_evaluate_counts_both_directions() -> None:
    rows = [r for r in load_crisis_rows() if r.split == "test"]
    never = evaluate([() for _ in rows], rows)
    always = evaluate([("self_harm", "emergency") for _ in rows], rows)
    assert never["recall"] == 0.0 and never["false_alarm_rate"] == 0.0
    assert always["recall"] == 1.0 and always["false_alarm_rate"] == 1.0
    assert always["self_harm"]["precision"] < 0.5  # type: ignore[index]
