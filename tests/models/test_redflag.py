"""The red-flag model: artifact, interface, MiniLM equivalence, behaviour on TRAIN rows.

Behavioural examples are taken from the training split only (crisis_hard ``train`` rows and
crisis_train_extra); the held-out test rows are never read here. No timings are asserted.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from models.redflag import CLASSES, DEFAULT_ARTIFACT, RedFlagModel, RedFlagNet, pad_states
from models.redflag_cv import CALM_SCENARIOS as REDFLAG_CV_CALM
from models.redflag_cv import scripted_lines

DATA = Path(__file__).resolve().parents[2] / "models" / "data"

# Explicit self-harm statements from the train split (crisis_hard train / extra).
EXPLICIT_SELF_HARM_FAMILIES = ("sh_exp_die_with_meds", "x_sh_exp_us_casual")
CLEAR_NEGATIVES = ("I'm terrified.", "My back is killing me.")


@pytest.fixture(scope="module")
def model() -> RedFlagModel:
    return RedFlagModel.load()


@pytest.fixture(scope="module")
def encoder():  # type: ignore[no-untyped-def]
    from models.encoder import get_encoder

    return get_encoder()


def _states(encoder, model: RedFlagModel, texts: list[str]) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    return [ts.states[0] for ts in encoder.token_states(texts, (model.input_layer,))]


def _train_rows() -> list[dict[str, str]]:
    rows = []
    for name in ("crisis_hard.jsonl", "crisis_train_extra.jsonl"):
        with (DATA / name).open(encoding="utf-8") as fh:
            rows += [r for r in map(json.loads, fh) if r["split"] == "train"]
    return rows


def test_artifact_loads_offline_and_is_small(model: RedFlagModel) -> None:
    # fp16 weights of four fine-tuned layers and a head: about 14 MB per net, three nets
    assert DEFAULT_ARTIFACT.stat().st_size < 45_000_000
    assert 0 <= model.input_layer <= 5
    assert set(model.thresholds) == {"safety_check", "self_harm", "emergency"}
    assert all(0.0 < t < 1.0 for t in model.thresholds.values())
    assert model.classes == ("none", "safety_check", "self_harm", "emergency") == CLASSES


def test_predict_shape_and_probabilities(model: RedFlagModel) -> None:
    rng = np.random.default_rng(0)
    states = [rng.normal(size=(n, 384)).astype(np.float32) for n in (3, 11, 7)]
    probs = model.predict(states)
    assert probs.shape == (3, 4)
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs >= 0).all()
    assert model.predict([]).shape == (0, 4)
    # Padding does not change a row's result: batch vs one by one.
    one = np.concatenate([model.predict([s]) for s in states])
    np.testing.assert_allclose(one, probs, atol=1e-5)


def test_bad_state_shape_is_rejected(model: RedFlagModel) -> None:
    with pytest.raises(ValueError):
        model.predict([np.zeros((4, 10), dtype=np.float32)])


def test_copied_layers_reproduce_minilm(encoder) -> None:  # type: ignore[no-untyped-def]
    from models.train_redflag import minilm_state

    texts = ["I can't stop thinking about ending it", "My back is killing me."]
    ts = encoder.token_states(texts, (2, 6))
    net = RedFlagNet(2, dropout=0.0)
    net.load_minilm(minilm_state())
    net.eval()
    x, mask = pad_states([t.states[0] for t in ts])
    bias = torch.zeros(mask.shape).masked_fill(~mask, torch.finfo(torch.float32).min)
    h = x
    with torch.inference_mode():
        for layer in net.layers:
            h = layer(h, bias[:, None, None, :])
    for i, t in enumerate(ts):
        n = t.states.shape[1]
        np.testing.assert_allclose(h[i, :n].numpy(), t.states[1], atol=1e-4)


@pytest.mark.slow
def test_explicit_self_harm_train_rows_flag(model: RedFlagModel, encoder) -> None:  # type: ignore[no-untyped-def]
    rows = [r for r in _train_rows() if r["family"] in EXPLICIT_SELF_HARM_FAMILIES]
    assert len(rows) >= 6
    texts = [r["text"] for r in rows]
    probs = model.predict(_states(encoder, model, texts))
    sh = probs[:, CLASSES.index("self_harm")]
    assert (sh >= model.thresholds["self_harm"]).all(), list(zip(texts, sh, strict=True))


@pytest.mark.slow
def test_clear_negatives_stay_below_thresholds(model: RedFlagModel, encoder) -> None:  # type: ignore[no-untyped-def]
    probs = model.predict(_states(encoder, model, list(CLEAR_NEGATIVES)))
    for text, row in zip(CLEAR_NEGATIVES, probs, strict=True):
        for c in ("self_harm", "emergency"):
            assert row[CLASSES.index(c)] < model.thresholds[c], (text, c, row)
    assert model.flags(probs) == [(), ()] or all(
        "self_harm" not in f and "emergency" not in f for f in model.flags(probs)
    )


@pytest.mark.slow
def test_clear_emergency_train_rows_flag(model: RedFlagModel, encoder) -> None:  # type: ignore[no-untyped-def]
    rows = [r for r in _train_rows() if r["family"] == "em_unresp_collapsed"]
    assert rows
    probs = model.predict(_states(encoder, model, [r["text"] for r in rows]))
    em = probs[:, CLASSES.index("emergency")]
    assert (em >= model.thresholds["emergency"]).mean() >= 0.8


def test_predict_is_thread_safe(model: RedFlagModel) -> None:
    rng = np.random.default_rng(1)
    states = [rng.normal(size=(9, 384)).astype(np.float32) for _ in range(4)]
    expected = model.predict(states)
    threads_before = torch.get_num_threads()
    results: list[np.ndarray] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(5):
            out = model.predict(states)
            with lock:
                results.append(out)

    ts = [threading.Thread(target=work) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(results) == 20
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-5)
    assert torch.get_num_threads() == threads_before


def _tiny_ensemble(n: int) -> RedFlagModel:
    torch.manual_seed(5)
    nets = [RedFlagNet(input_layer=4, dropout=0.0) for _ in range(n)]
    return RedFlagModel(nets, {"safety_check": 0.5, "self_harm": 0.9, "emergency": 0.9})


def test_an_ensemble_averages_its_nets_and_survives_save_and_load(tmp_path: Path) -> None:
    ens = _tiny_ensemble(3)
    rng = np.random.default_rng(2)
    states = [rng.normal(size=(n, 384)).astype(np.float32) for n in (5, 9)]
    each = [RedFlagModel(net, ens.thresholds).predict(states) for net in ens._nets]
    np.testing.assert_allclose(ens.predict(states), np.mean(each, axis=0), atol=1e-6)
    ens.save(tmp_path / "rf.pt")
    back = RedFlagModel.load(tmp_path / "rf.pt")
    assert back.n_nets == 3 and back.meta["n_nets"] == 3
    # fp16 storage moves the probabilities a little, never the averaging
    np.testing.assert_allclose(back.predict(states), ens.predict(states), atol=2e-3)


def test_one_net_keeps_the_single_net_artifact_format(tmp_path: Path) -> None:
    one = _tiny_ensemble(1)
    one.save(tmp_path / "rf.pt")
    blob = torch.load(tmp_path / "rf.pt", weights_only=True)
    meta = json.loads(bytes(blob["meta"].tolist()).decode("utf-8"))
    assert "n_nets" not in meta
    assert all(k == "meta" or k.startswith("w.") for k in blob)
    assert RedFlagModel.load(tmp_path / "rf.pt").n_nets == 1


def test_onnxruntime_scores_as_torch_does(model: RedFlagModel) -> None:
    rng = np.random.default_rng(4)
    states = [rng.normal(size=(n, 384)).astype(np.float32) for n in (1, 6, 30)]
    fast = model.on_onnxruntime(int8=False)
    assert fast.meta["runtime"] == "onnxruntime" and fast.n_nets == model.n_nets
    for s in states:
        np.testing.assert_allclose(fast.predict([s]), model.predict([s]), atol=1e-4)
    np.testing.assert_allclose(fast.predict(states), model.predict(states), atol=1e-5)


def test_the_services_int8_model_scores_a_batch_as_single_texts(model: RedFlagModel) -> None:
    rng = np.random.default_rng(6)
    states = [rng.normal(size=(n, 384)).astype(np.float32) for n in (2, 9, 17)]
    fast = model.on_onnxruntime(int8=True)
    batch = fast.predict(states)
    np.testing.assert_allclose(batch, np.concatenate([fast.predict([s]) for s in states]))
    np.testing.assert_allclose(batch.sum(axis=1), 1.0, atol=1e-5)
    # int8 weights move the probabilities a little, not the ranking of what was said
    assert np.abs(batch - model.predict(states)).max() < 0.2
    with pytest.raises(RuntimeError, match="load the artifact again"):
        fast.save(Path("/nonexistent/rf.pt"))


@pytest.mark.parametrize("bad", [np.zeros((4, 10)), np.zeros((0, 384)), np.zeros(384)])
def test_bad_states_are_rejected_on_both_runtimes(model: RedFlagModel, bad: np.ndarray) -> None:
    for runtime in (model, model.on_onnxruntime(int8=False)):
        with pytest.raises(ValueError, match="tokens >= 1"):
            runtime.predict([np.ones((3, 384), dtype=np.float32), bad.astype(np.float32)])


# Scripted practice calls whose caller is never at risk of self-harm (app/practice/scenarios/;
# medication_confusion's "I've done something silly" follows "I might have taken both": a
# mix-up, which the patterns explain away since issue 9's fourth round).
CALM_SCENARIOS = (*REDFLAG_CV_CALM, "medication_confusion")


@pytest.mark.parametrize("scenario", CALM_SCENARIOS)
def test_no_line_of_a_scripted_call_without_risk_raises_self_harm(scenario: str) -> None:
    """A grieving widow asking about a prescription, or a caller repeating back a plan, is not
    at risk of self-harm. The third round's ensemble escalated three such lines (grief,
    medication). (An accidental double dose of blood thinners may rightly be an emergency.)"""
    from models.classifier import load_classifier

    lines = [text for name, text in scripted_lines() if name == scenario]
    assert lines
    escalated = [
        text
        for text, score in zip(lines, load_classifier().score_batch(lines), strict=True)
        if "self_harm" in score.red_flags
    ]
    assert escalated == []


def _sure_of_self_harm():  # type: ignore[no-untyped-def]
    """The shipped classifier with a learned model that is sure of self-harm on every text."""
    import copy

    from models.classifier import load_classifier

    sure = np.zeros(len(CLASSES))
    sure[CLASSES.index("self_harm")] = 0.999
    sure[CLASSES.index("none")] = 0.001
    clf = copy.copy(load_classifier())
    clf._red_flag_probs = lambda states: np.tile(sure, (len(states), 1))  # type: ignore[method-assign]
    return clf


# (text, is the learned model consulted?) Medicines handed back are the patterns' call: the
# words are a plan's ("take them all"), and fold models of rounds 7 and 8 escalated the grief
# call's line. Anything that keeps the risk open leaves the model consulted.
RETURNS = [
    (
        "So I can just take them all back to the chemist in a bag, and you'll stop the reminders?",
        False,
    ),
    ("can I bring dads morphine back to the pharmacy now hes gone", False),
    ("how do I dispose of her fentanyl patches safely", False),
    ("I've put all his pills in a bag for the chemist.", False),
    ("the cabinet's full of gran's pills, do you want them all brought in", False),
    ("I'll bring them back if I don't take them all tonight.", True),
    ("I'm keeping them instead of taking them back to the chemist.", True),
    ("I'm not taking them back to the chemist, I've got enough now.", True),
    ("I was going to take them back to the pharmacy but I'll take them all tonight.", True),
    ("I'll take them all back to the chemist, I won't be needing anything anymore.", True),
    ("I'll take them all back to the chemist. I can't go on like this.", True),
    ("Can you send the prescription to the chemist on the high street?", True),
    ("I've got thirty tablets saved up.", True),
    # from the review: some taken, someone unwell, despair, no medicines handed back
    ("i took most of them, ill bring the rest back to the pharmacy", True),
    ("he's really drowsy and slow, i think he took some of my tramadol, do i bring them in", True),
    ("i just want to join him. ill bring his morphine back to the pharmacy", True),
    ("what's the point, I'll take it all back to the chemist", True),
    ("i took the bus to the pharmacy and they were closed", True),
    ("how do I dispose of his clothes", True),
]


@pytest.mark.parametrize(("text", "consulted"), RETURNS)
def test_medicines_handed_back_are_not_a_plan_for_the_learned_model(
    text: str, consulted: bool
) -> None:
    """With the learned model sure of self-harm, a return of medicines raises nothing unless a
    pattern matched or something in the words keeps the risk open."""
    assert ("self_harm" in _sure_of_self_harm().score(text).red_flags) is consulted


# (text, urgent flag from a model sure of self-harm?) Urgent words the patterns explain away as
# call business, and idioms, are their call; the model may still ask for the gentle check
# (issue 9, ninth round). Urgent words that stand keep the model's urgent tiers.
EXPLAINED = [
    ("I need to cancel next week, I won't be around for three weeks, I'm on holiday.", False),
    ("honestly this hold music, I'm losing the will to live", False),
    # history and events over explain only the patterns' words: the model still reads them
    ("He had a seizure yesterday. It stopped after a minute and he's fine today.", True),
    ("I tried to hang myself in 2019. I've bought another rope.", True),
    ("I won't be around for three weeks and I want to die.", True),
    ("I won't be around for my next appointment.", True),
    ("Can I have my repeat prescription?", True),  # no urgent words: the model decides
    # idioms and fears in crisis words (the issue names them)
    ("I could murder a cup of tea right now", False),
    ("my back is killing me today", False),
    ("this pain is killing me and I've saved up my tablets for tonight", True),
    # from a review: fears, people and an idiom beside risk keep the model's urgent tier
    ("he is killing me please help", True),
    ("i'm terrified i'm going to die he's got a knife", True),
    ("i could murder a cup of tea. i've been collecting my tablets", True),
    ("my back is killing me and honestly i've had enough of everything", True),
    ("honestly this hold music, I'm losing the will to live and I've got the pills here", True),
    # issue 9, fifteenth round: an attempt told as history by a caller who says they are well
    # now is the patterns' reading (train14's past-risk calls were escalated by the model)
    ("its been two years since i tried to end my life and honestly im in a really good place "
     "now", False),
    ("I attempted suicide in 2015 and I'm doing well now.", False),
    ("years ago I took an overdose but I'm in a good place now, I'm calling about my smear test",
     False),
    ("I attempted suicide in 2015. I'm doing well now, but lately the thoughts are back.", True),
    ("I tried to kill myself three years ago. I'm fine now. I've been stockpiling my tablets.",
     True),
    ("I tried to kill myself years ago and I'm feeling better, I just wanted to say goodbye",
     True),
    ("I tried to kill myself years ago and I'm feeling better. I took some pills last night.",
     True),
]


@pytest.mark.parametrize(("text", "urgent"), EXPLAINED)
def test_urgent_words_explained_away_are_not_escalated_by_the_model(
    text: str, urgent: bool
) -> None:
    flags = _sure_of_self_harm().score(text).red_flags
    assert ("self_harm" in flags) is urgent
    if not urgent:
        assert flags == ("safety_check",)
