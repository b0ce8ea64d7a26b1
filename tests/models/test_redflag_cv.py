"""The red-flag experiments measure what ships, on data that keeps the test split unseen.

``models.redflag_cv`` turns out-of-fold probabilities into flags; if its rule drifted from
``CareClassifier.decide`` every grouped-CV number in ``models/cards/red_flags.md`` would be
about another policy. The train-only data (``crisis_train_judge.jsonl``,
``crisis_train_more.jsonl``, ``crisis_train_r3.jsonl``) must be new phrasing families that
never repeat a held-out sentence. No test row is printed or used otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from models.classifier import DEFAULT_RED_FLAG_POLICY, CareClassifier
from models.crisis import detect
from models.datasets import (
    CRISIS_EXTRA_PATH,
    CRISIS_FRESH_PATH,
    CRISIS_HELDOUT12_PATH,
    CRISIS_HELDOUT15_PATH,
    CRISIS_HELDOUT16_PATH,
    CRISIS_HELDOUT17_PATH,
    CRISIS_HELDOUT18_PATH,
    _plain,
    load_crisis_rows,
)
from models.redflag import CLASSES
from models.redflag_cv import left_out_rows, pattern_info, policy_flags
from models.train_redflag import (
    BEREAVED_MEDS,
    CONTRAST,
    CONTRAST_EVERYDAY,
    NEGATIVES_FROM,
    SELF_HARM_LEFT_OUT,
    THIRDPARTY,
    TRAIN_ONLY_FILES,
    load_retired,
    load_train_only,
    load_train_pool,
)

TEXTS = [
    "I'm not suicidal, I just need my refill.",  # every crisis phrase denied
    "I've bought a rope.",  # a pattern hit
    "my chest pain is crushing and spreading to my arm",  # an emergency pattern hit
    "Could you tell me if my prescription is ready?",
    "I can't go on like this.",
    "Could I have my tablets delivered tonight?",  # a risk factor named, no pattern hit
    "So I can just take them all back to the chemist in a bag?",  # medicines handed back
    "I'll take them all back to the chemist, I can't go on like this.",  # and a pattern hit
    "I won't be around for three weeks, I'm on holiday.",  # urgent words explained away
    "I won't be around for three weeks and I want to die.",  # and urgent words that are not
    "my back is killing me today",  # an idiom
    "He had a seizure yesterday. It stopped after a minute and he's fine today.",  # told as over
]


def _shipped(text: str, probs: np.ndarray) -> set[str]:
    """The flags ``CareClassifier.decide`` raises from the patterns and the model."""
    found = detect(text)
    raised: set[str] = set(found.kinds)
    if found.learned_model_applies:
        holder = SimpleNamespace(red_flag_policy=DEFAULT_RED_FLAG_POLICY)
        risk = found.risk_factor is not None
        CareClassifier._apply_red_flag_model(
            holder,  # type: ignore[arg-type]
            probs,
            raised,
            risk,
            found.model_urgent_out,
        )
    return raised


def test_cv_policy_is_the_shipped_two_tier_rule() -> None:
    rng = np.random.default_rng(3)
    # probabilities around the tiers' edges (0.5, 0.95, 0.97) as well as anywhere
    edges = np.array([0.0, 0.3, 0.49, 0.5, 0.94, 0.95, 0.96, 0.97, 0.99, 1.0])
    for _ in range(60):
        raw = (
            rng.choice(edges, size=(len(TEXTS), len(CLASSES))) + rng.random((len(TEXTS), 4)) * 1e-3
        )
        kinds, denied, risk, urgent_out = pattern_info(TEXTS)
        got = policy_flags(
            raw,
            kinds,
            denied,
            DEFAULT_RED_FLAG_POLICY.urgent_self_harm,
            DEFAULT_RED_FLAG_POLICY.urgent_emergency,
            risk=risk,
            urgent_out=urgent_out,
        )
        for i, text in enumerate(TEXTS):
            want = _shipped(text, raw[i])
            assert {k for k in got if got[k][i]} == want, (i, raw[i])


@pytest.mark.parametrize("path", TRAIN_ONLY_FILES, ids=lambda p: p.name)
def test_train_only_data_is_new_families_and_never_a_test_sentence(path: Path) -> None:
    rows = load_crisis_rows(path)  # validates labels, split and whole families
    assert len(rows) >= 100 and {r.split for r in rows} == {"train"}
    if path not in (CONTRAST_EVERYDAY, BEREAVED_MEDS):  # those are negatives only
        assert {r.label for r in rows} >= {"none", "self_harm"}
    hard = load_crisis_rows()
    known = {r.family for r in hard} | {r.family for r in load_crisis_rows(CRISIS_EXTRA_PATH)}
    for other in TRAIN_ONLY_FILES:
        if other != path:
            known |= {r.family for r in load_crisis_rows(other)}
    assert not {r.family for r in rows} & known
    held_out = {_plain(r.text) for r in hard if r.split == "test"}
    assert not {_plain(r.text) for r in rows} & held_out
    pool = {_plain(r.text) for r in load_train_pool()}
    assert not {_plain(r.text) for r in rows} & pool
    assert len(load_train_only([path])) == len(rows)


def test_train_only_files_do_not_repeat_each_other() -> None:
    texts = [_plain(r.text) for p in TRAIN_ONLY_FILES for r in load_crisis_rows(p)]
    assert len(set(texts)) == len(texts)


def test_train_only_files_refuse_test_rows(tmp_path: Path) -> None:
    path = tmp_path / "more.jsonl"
    row = {"id": "a1", "text": "hello", "label": "none", "family": "f", "split": "test"}
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match="not a training row"):
        load_train_only([path])


@pytest.mark.parametrize(
    ("path", "n"),
    [
        (CRISIS_FRESH_PATH, 300),
        (CRISIS_HELDOUT12_PATH, 200),
        (CRISIS_HELDOUT15_PATH, 238),
        (CRISIS_HELDOUT16_PATH, 237),
        (CRISIS_HELDOUT17_PATH, 240),
        (CRISIS_HELDOUT18_PATH, 120),
    ],
)
def test_the_fresh_sets_are_test_only_and_share_nothing_with_training(path: Path, n: int) -> None:
    """``crisis_fresh.jsonl`` and the held-out sets of rounds 12 and 15 to 17 measure the shipped
    model on phrasings of other authors: no family or sentence of them may reach any training
    file."""
    rows = load_crisis_rows(path)
    assert len(rows) >= n and {r.split for r in rows} == {"test"}
    assert {"none", "self_harm", "emergency"} <= {r.label for r in rows}
    training = list(load_crisis_rows()) + load_crisis_rows(CRISIS_EXTRA_PATH)
    for path in TRAIN_ONLY_FILES:
        training += load_crisis_rows(path)
    assert not {r.family for r in rows} & {r.family for r in training}
    assert not {_plain(r.text) for r in rows} & {_plain(r.text) for r in training}
    assert not {_plain(r.text) for r in rows} & {_plain(r.text) for r in load_train_pool()}


def test_only_older_held_out_sets_can_be_retired_into_training() -> None:
    """``--retired-sets`` trains on an older held-out set whole (as train-only rows under their
    own families); the newest set and the hard set's test split can never be trained on."""
    got = load_retired(["heldout12"])
    rows = load_crisis_rows(CRISIS_HELDOUT12_PATH)
    assert [r.text for r in got] == [r.text for r in rows]
    assert {r.split for r in got} == {"train"} and {r.source for r in got} == {"train_only"}
    assert all(r.family.startswith("heldout12:") for r in got)
    for name in ("heldout17", "test"):
        with pytest.raises(ValueError, match="not a retired held-out set"):
            load_retired([name])


def test_negatives_from_leaves_out_self_harm_in_the_words_of_ordinary_calls() -> None:
    for path in NEGATIVES_FROM:
        rows = load_crisis_rows(path)
        got = load_train_only([], [path])
        kept = [r for r in rows if r.label != "self_harm"]
        kept += [r for r in rows if r.label == "self_harm" and r.category not in SELF_HARM_LEFT_OUT]
        assert [r.text for r in got] == [r.text for r in kept]
        assert (
            not {r.category for r in rows if r.label == "self_harm"}
            & {r.category for r in kept if r.label == "self_harm"}
            & SELF_HARM_LEFT_OUT
        )
    r3 = load_train_only([], [NEGATIVES_FROM[0]])
    assert {"none", "emergency", "self_harm"} <= {r.label for r in r3}


def test_a_file_is_trained_whole_or_in_part_not_both() -> None:
    with pytest.raises(ValueError, match="whole or in part"):
        load_train_only([NEGATIVES_FROM[0]], [NEGATIVES_FROM[0]])
    with pytest.raises(ValueError, match="whole or in part"):
        load_train_only([THIRDPARTY], [], [THIRDPARTY])
    with pytest.raises(ValueError, match="whole or in part"):
        load_train_only([], [THIRDPARTY], [THIRDPARTY])


def test_none_only_files_train_their_ordinary_rows_after_the_whole_files() -> None:
    """The third-party twins train without their risk rows (they taught that a widow telling
    of her husband's death is at risk); the order of the rows is the one the shipped model
    was cross-validated with."""
    rows = load_crisis_rows(THIRDPARTY)
    got = load_train_only([], [], [THIRDPARTY])
    assert [r.text for r in got] == [r.text for r in rows if r.label == "none"]
    assert {r.label for r in got} == {"none"} and len(got) == len(rows) // 2
    whole = load_train_only([CONTRAST])
    both = load_train_only([CONTRAST], [NEGATIVES_FROM[0]], [THIRDPARTY])
    assert [r.text for r in both[: len(whole) + len(got)]] == [r.text for r in whole + got]


def test_left_out_rows_are_the_self_harm_rows_no_model_trains_on() -> None:
    """The CV's ``left_out_self_harm`` measure scores rows that no fold and no final model
    sees: every left-out text is self-harm and absent from what ``load_train_only`` trains."""
    left = left_out_rows(list(NEGATIVES_FROM))
    trained = {r.text for r in load_train_only([], list(NEGATIVES_FROM))}
    assert len(left) >= 100 and not set(left) & trained
    every_sh = [
        r.text for p in NEGATIVES_FROM for r in load_crisis_rows(p) if r.label == "self_harm"
    ]
    assert sorted(left + [t for t in every_sh if t in trained]) == sorted(every_sh)
    assert left_out_rows([]) == []


def test_contrast_rows_come_in_twins_of_risk_and_ordinary_business() -> None:
    """``crisis_train_contrast*.jsonl`` teach the difference, not the words: every scenario
    is one self-harm family (``_risk``) and one ordinary family in the same words
    (``_ordinary``) of the same kind, and may have a family using the risk rows' words in their
    everyday senses (``_everyday``: returning medicines, "take them all" as prescribed)."""
    rows = [
        json.loads(line)
        for path in (CONTRAST, CONTRAST_EVERYDAY)
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    twins: dict[str, dict[str, str]] = {}
    for r in rows:
        kind = r["family"].removeprefix(f"contrast_{r['twin']}_")
        assert kind in {"risk", "ordinary", "everyday"}, r["family"]
        assert (r["label"] == "self_harm") == (kind == "risk"), r["id"]
        assert r["label"] in {"self_harm", "none"}
        twins.setdefault(r["twin"], {})[kind] = r["family"]
    assert len(twins) >= 40
    for slug, kinds in twins.items():
        assert {"risk", "ordinary"} <= set(kinds), slug
    cats = {(r["twin"], r["category"]) for r in rows}
    assert len(cats) == len(twins)  # every family of a scenario is the same kind


def test_third_party_rows_come_in_twins_of_the_same_relative_and_situation() -> None:
    """``crisis_train_thirdparty.jsonl`` pairs every ordinary line about a relative's illness,
    death or worrying signs (``none``) with the same situation as the caller's own risk
    (``self_harm``) or as the relative's emergency happening now (``emergency``): a
    relative's name and an illness must not be what the model learns as risk."""
    rows = [json.loads(line) for line in THIRDPARTY.read_text(encoding="utf-8").splitlines()]
    risk_label = {
        "third_party_illness_vs_own_risk": "self_harm",
        "grief_for_relative_vs_own_risk": "self_harm",
        "third_party_illness_vs_emergency_now": "emergency",
        "worry_for_relative_vs_emergency_now": "emergency",
    }
    twins: dict[str, dict[str, int]] = {}
    for r in rows:
        kind = r["family"].removeprefix(f"tp_{r['twin']}_")
        assert kind in {"risk", "ordinary"}, r["family"]
        expected = risk_label[r["category"]] if kind == "risk" else "none"
        assert r["label"] == expected, r["id"]
        counts = twins.setdefault(r["twin"], {})
        counts[kind] = counts.get(kind, 0) + 1
    assert len(twins) >= 40
    for slug, kinds in twins.items():
        assert kinds.get("risk", 0) >= 3 and kinds.get("ordinary", 0) >= 3, slug
    assert len({(r["twin"], r["category"]) for r in rows}) == len(twins)


def test_a_dead_relatives_medicines_are_call_business_for_the_patterns() -> None:
    """``crisis_train_bereaved_meds.jsonl``: returning, disposing of and cancelling a dead or
    departed relative's medicines shares words with plans ("take them all back", "we won't be
    needing it", "my dad had loads of the same tablets"). The patterns escalate none of it."""
    rows = load_crisis_rows(BEREAVED_MEDS)
    assert {r.label for r in rows} == {"none"} and len({r.family for r in rows}) >= 30
    urgent = [r.id for r in rows if set(detect(r.text).kinds) & {"self_harm", "emergency"}]
    assert urgent == []
