"""The fine-tuned distress model as shipped: loads offline, orders texts sensibly, and leaves
the concern heads and crisis logic exactly as they are with the frozen head."""

from __future__ import annotations

import numpy as np
import pytest

from models.classifier import (
    CONCERN_ARTIFACT,
    DISTRESS_ARTIFACT,
    CareClassifier,
    LinearHeads,
    load_classifier,
    pooled_features,
    token_contributions,
)
from models.distress import TUNED_ARTIFACT, DistressModel
from models.signals import CONCERNS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clf() -> CareClassifier:
    return load_classifier()


@pytest.fixture(scope="module")
def frozen(clf: CareClassifier) -> CareClassifier:
    """The same classifier without the fine-tuned model (distress from the frozen head)."""
    return CareClassifier(
        LinearHeads.load(DISTRESS_ARTIFACT),
        LinearHeads.load(CONCERN_ARTIFACT),
        encoder=clf.encoder,
        red_flag_model=clf.red_flag_model,
    )


def test_artifact_loads_offline_with_the_expected_shapes(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    assert TUNED_ARTIFACT.exists()
    model = DistressModel.load(TUNED_ARTIFACT)
    assert model.layers == (1, 2, 3, 4, 5, 6)
    assert 1 <= len(model.top.layer) <= 4
    assert model.base_layer + len(model.top.layer) == 6
    assert model.weights.shape == (len(model.layers) * 384,)
    assert np.isfinite(model.weights).all() and np.isfinite(model.bias)
    # the shipped classifier uses it
    assert load_classifier().distress_model is not None


def test_fine_tuned_layers_differ_from_the_frozen_encoder(clf: CareClassifier) -> None:
    model = clf.distress_model
    assert model is not None
    st = clf.encoder.token_states(["I am so upset about this."], clf.layers)[0]
    tuned = model.states(st.states)
    k = model.layers.index(model.base_layer)
    assert tuned.shape == st.states.shape
    # layers up to the base are the frozen ones, the ones above are re-trained
    np.testing.assert_array_equal(tuned[: k + 1], st.states[: k + 1])
    assert np.abs(tuned[-1] - st.states[-1]).max() > 1e-2


@pytest.mark.parametrize(
    ("distressed", "neutral"),
    [
        ("I'm so frightened, I can't stop shaking and crying.", "I'd like to book a flu jab."),
        ("This is awful, I feel hopeless and nobody is helping me.", "The weather is mild today."),
        ("I'm furious, you people have ruined everything.", "My postcode is the same as before."),
        ("I feel terrible and the pain is unbearable.", "Could you read the address back to me?"),
    ],
)
def test_distressed_above_neutral(clf: CareClassifier, distressed: str, neutral: str) -> None:
    d, n = clf.score(distressed), clf.score(neutral)
    assert d.distress >= 0.5 > n.distress
    assert d.distress > n.distress


def test_positive_is_calm(clf: CareClassifier) -> None:
    assert clf.score("Thank you so much, that's wonderful news.").distress < 0.5


def test_concerns_and_crisis_are_unchanged_by_the_distress_model(
    clf: CareClassifier, frozen: CareClassifier
) -> None:
    texts = [
        "I'm so scared the tumour has come back.",
        "Thanks for asking. Honestly, I've been thinking about ending my life.",
        "I'm not suicidal, I just need my refill.",
        "I need to move my physio appointment to next Wednesday.",
        "My knee is throbbing and it hurts to walk.",
    ]
    for a, b in zip(clf.score_batch(texts), frozen.score_batch(texts), strict=True):
        assert a.crisis == b.crisis and a.crisis_phrases == b.crisis_phrases
        assert a.red_flags == b.red_flags
        for c in CONCERNS:
            assert a.concerns[c] == pytest.approx(b.concerns[c], abs=1e-6)


def test_distress_attribution_is_exact_on_the_fine_tuned_states(clf: CareClassifier) -> None:
    model = clf.distress_model
    assert model is not None
    text = "I'm fine with the time, but I'm scared of the surgery."
    st = clf.encoder.token_states([text], clf.layers)[0]
    d_states = model.states(st.states)
    feats, norms = pooled_features(d_states)
    contrib = token_contributions(d_states, norms, model.weights)
    assert float(contrib.sum()) == pytest.approx(float(model.weights @ feats), rel=1e-4, abs=1e-4)
    assert clf.score(text).distress == pytest.approx(model.probability(feats), abs=1e-5)


def test_distress_evidence_is_the_distressing_clause(clf: CareClassifier) -> None:
    text = (
        "Okay, the appointment is on Tuesday at ten. "
        "I feel awful and I'm terrified it will go wrong. "
        "My number is the same as before."
    )
    s = clf.score(text)
    assert s.distress >= 0.5
    assert s.evidence == "I feel awful and I'm terrified it will go wrong."


def test_frozen_features_alone_fall_back_to_the_frozen_head(
    clf: CareClassifier, frozen: CareClassifier
) -> None:
    st = clf.encoder.token_states(["I'm worried about my results."], clf.layers)[0]
    f0 = pooled_features(st.states)[0]
    np.testing.assert_allclose(clf.head_probabilities(f0), frozen.head_probabilities(f0))
    full = clf.text_features(st.states)
    assert full.shape == (2 * f0.shape[0],)
    np.testing.assert_allclose(clf.head_probabilities(full)[1:], frozen.head_probabilities(f0)[1:])
