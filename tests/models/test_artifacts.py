"""The committed heads reproduce the held-out metrics printed in their model cards.

The VADER held-out sentences are not committed: ``labelled_vader()`` fetches the
vaderSentiment 3.3.2 source distribution with pip (as the training script does) and caches
the parsed rows and the encoder features outside git, so only the first run is slow.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from models.classifier import CONCERN_ARTIFACT, DISTRESS_ARTIFACT, LinearHeads, load_classifier

pytestmark = pytest.mark.slow

CARDS = Path(__file__).resolve().parents[2] / "models" / "cards"
TOL = 0.005


def _card_number(card: str, label: str) -> float:
    m = re.search(rf"{label}[^*\n]*\*\*([0-9.]+)\*\*", card)
    assert m, f"{label} not found in card"
    return float(m.group(1))


def test_artifacts_are_small_and_consistent() -> None:
    from models.distress import TUNED_ARTIFACT, DistressModel

    for path in (DISTRESS_ARTIFACT, CONCERN_ARTIFACT):
        assert path.stat().st_size < 200_000
    assert TUNED_ARTIFACT.stat().st_size < 25_000_000
    d, c = LinearHeads.load(DISTRESS_ARTIFACT), LinearHeads.load(CONCERN_ARTIFACT)
    assert d.layers == c.layers
    assert DistressModel.load(TUNED_ARTIFACT).layers == c.layers


def test_distress_model_reproduces_card_metrics() -> None:
    """The shipped (fine-tuned) distress model: held-out numbers as in its card."""
    from sklearn.metrics import f1_score, roc_auc_score

    from models.crisis import detect
    from models.datasets import labelled_vader
    from models.distress import cached_distress_features

    card = (CARDS / "distress.md").read_text()
    data = labelled_vader()
    digest = re.search(r"Test-set digest `([0-9a-f]+)`", card)
    assert digest and digest.group(1) == data.test_digest(), "held-out split changed"
    clf = load_classifier()
    model = clf.distress_model
    assert model is not None
    texts = [data.rows[i].text for i in data.test]
    feats = cached_distress_features(texts, model)
    prob = 1 / (1 + np.exp(-(feats @ model.weights + model.bias)))
    y = data.labels[data.test]
    macro_f1 = f1_score(y, prob >= 0.5, average="macro")
    auroc = roc_auc_score(y, prob)
    held = re.search(r"^- macro-F1 \*\*([0-9.]+)\*\*, AUROC \*\*([0-9.]+)\*\*", card, re.M)
    assert held, "held-out line not found in card"
    assert macro_f1 == pytest.approx(float(held.group(1)), abs=TOL)
    assert auroc == pytest.approx(float(held.group(2)), abs=TOL)
    # better than the frozen head it starts from (AUROC 0.882, macro-F1 0.799)
    assert auroc >= 0.90 and macro_f1 >= 0.81

    # the cached-feature path is the shipped path: spot-check through score_batch
    idx = np.arange(0, len(texts), max(1, len(texts) // 24))
    live = clf.score_batch([texts[i] for i in idx])
    for k, s in zip(idx, live, strict=True):
        # a crisis lifts distress to its floor, and a denied crisis phrase is cut out first
        if not s.crisis and not detect(texts[k]).matches:
            assert s.distress == pytest.approx(float(prob[k]), abs=1e-3)


def test_distress_model_reproduces_call_style_metrics() -> None:
    from sklearn.metrics import f1_score

    from models.datasets import load_concerns
    from models.distress import cached_distress_features
    from models.train_distress import call_distress_label

    card = (CARDS / "distress.md").read_text()
    m = re.search(r"Call-style held-out rows.*?macro-F1 \*\*([0-9.]+)\*\*", card)
    assert m, "call-style line not found in card"
    model = load_classifier().distress_model
    assert model is not None
    rows = [r for r in load_concerns() if r.split == "test"]
    feats = cached_distress_features([r.text for r in rows], model)
    prob = 1 / (1 + np.exp(-(feats @ model.weights + model.bias)))
    y = [call_distress_label(r.labels) for r in rows]
    f1 = f1_score(y, prob >= 0.5, average="macro")
    assert f1 == pytest.approx(float(m.group(1)), abs=TOL)


def test_frozen_distress_head_reproduces_card_metrics() -> None:
    from sklearn.metrics import f1_score, roc_auc_score

    from models.crisis import detect
    from models.datasets import cached_features, labelled_vader

    card = (CARDS / "distress_frozen.md").read_text()
    data = labelled_vader()
    digest = re.search(r"Test-set digest `([0-9a-f]+)`", card)
    assert digest and digest.group(1) == data.test_digest(), "held-out split changed"

    heads = LinearHeads.load(DISTRESS_ARTIFACT)
    texts = [data.rows[i].text for i in data.test]
    feats = cached_features(texts, heads.layers)
    prob = 1 / (1 + np.exp(-heads.logits(feats)[:, 0]))
    y = data.labels[data.test]
    macro_f1 = f1_score(y, prob >= 0.5, average="macro")
    auroc = roc_auc_score(y, prob)
    held = re.search(r"^- macro-F1 \*\*([0-9.]+)\*\*, AUROC \*\*([0-9.]+)\*\*", card, re.M)
    assert held, "held-out line not found in card"
    assert macro_f1 == pytest.approx(float(held.group(1)), abs=TOL)
    assert auroc == pytest.approx(float(held.group(2)), abs=TOL)
    # and the bar
    assert macro_f1 >= 0.78 and auroc >= 0.88

    # the classifier's frozen path (frozen features only, no fine-tuned distress features)
    # is this head
    clf = load_classifier()
    idx = np.arange(0, len(texts), max(1, len(texts) // 24))
    for k in idx:
        if not detect(texts[k]).matches:
            assert clf.head_probabilities(feats[k])[0] == pytest.approx(float(prob[k]), abs=1e-4)


def test_frozen_distress_head_reproduces_call_style_metrics() -> None:
    from sklearn.metrics import f1_score

    from models.datasets import cached_features, load_concerns
    from models.train_distress import call_distress_label

    card = (CARDS / "distress_frozen.md").read_text()
    m = re.search(r"Call-style held-out rows.*?macro-F1 \*\*([0-9.]+)\*\*", card)
    assert m, "call-style line not found in card"
    heads = LinearHeads.load(DISTRESS_ARTIFACT)
    rows = [r for r in load_concerns() if r.split == "test"]
    prob = 1 / (1 + np.exp(-heads.logits(cached_features([r.text for r in rows], heads.layers))))
    y = [call_distress_label(r.labels) for r in rows]
    f1 = f1_score(y, prob[:, 0] >= 0.5, average="macro")
    assert f1 == pytest.approx(float(m.group(1)), abs=TOL)


def test_concern_heads_reproduce_card_metrics() -> None:
    from models.datasets import load_concerns
    from models.train_concerns import evaluate

    card = (CARDS / "concerns.md").read_text()
    rows = [r for r in load_concerns() if r.split == "test"]
    m = evaluate(load_classifier(), rows)
    assert m["macro_f1"] == pytest.approx(_card_number(card, "macro-F1 over the 8"), abs=TOL)
    assert m["crisis_recall"] == pytest.approx(_card_number(card, "crisis recall"), abs=TOL)
    assert m["macro_f1"] >= 0.80 and m["crisis_recall"] >= 0.95


def test_training_never_reads_test_rows(monkeypatch) -> None:
    """train_concerns fits on the train split only: the features it asks for say so."""
    import models.train_concerns as tc
    from models.datasets import load_concerns

    seen: list[str] = []

    def spy(texts, layers):
        seen.extend(texts)
        return np.random.default_rng(0).normal(size=(len(texts), 384 * len(layers)))

    monkeypatch.setattr(tc, "cached_features", spy)
    monkeypatch.setattr(tc, "C_GRID", (1.0,))
    tc.train((6,))
    test_texts = {r.text for r in load_concerns() if r.split == "test"}
    assert seen and not (set(seen) & test_texts)


def test_the_cue_head_ships_with_its_cross_validated_thresholds() -> None:
    """The call-cue head (``models/train_cues.py``): the four cues, the classifier's layers,
    and the thresholds its metrics file reports from the grouped cross-validation."""
    import json

    from models.call_context import CUES
    from models.classifier import CUE_ARTIFACT

    assert CUE_ARTIFACT.stat().st_size < 200_000
    head = LinearHeads.load(CUE_ARTIFACT)
    assert head.names == CUES and head.layers == LinearHeads.load(CONCERN_ARTIFACT).layers
    metrics = json.loads(CUE_ARTIFACT.with_name("cue_head_metrics.json").read_text())
    for name, t in zip(head.names, head.thresholds, strict=True):
        assert abs(float(t) - metrics[name]["threshold"]) < 1e-3, name
        assert metrics[name]["oof_precision"] >= 0.85 or t > 1, name
    assert load_classifier().cue_head is not None
