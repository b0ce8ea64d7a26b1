"""The encoder and the fine-tuned distress layers on onnxruntime compute what torch does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.classifier import pooled_features
from models.distress import TUNED_ARTIFACT, DistressModel
from models.encoder import MAX_TOKENS, TextEncoder, get_encoder

pytestmark = pytest.mark.slow

TEXTS = [
    "Hi.",
    "I'm so frightened, I can't stop shaking and crying.",
    "could you read the address back to me please",
    "It hurts " * 200,  # cut at MAX_TOKENS
]
ALL_LAYERS = (0, 1, 2, 3, 4, 5, 6)


@pytest.fixture(scope="module")
def torch_encoder() -> TextEncoder:
    return TextEncoder(runtime="torch")


def test_shared_encoder_runs_on_onnxruntime() -> None:
    assert get_encoder().runtime == "onnx"


def test_unknown_runtime_is_refused() -> None:
    from models.encoder import EncoderLoadError

    with pytest.raises(EncoderLoadError):
        TextEncoder(runtime="tpu")


@pytest.mark.parametrize("batch", [TEXTS, TEXTS[1:2], TEXTS[::-1]])
def test_hidden_states_match_torch_with_and_without_padding(
    torch_encoder: TextEncoder, batch: list[str]
) -> None:
    got = get_encoder().token_states(batch, ALL_LAYERS)
    want = torch_encoder.token_states(batch, ALL_LAYERS)
    for g, w in zip(got, want, strict=True):
        assert g.offsets == w.offsets and g.truncated == w.truncated
        assert g.states.shape == w.states.shape
        np.testing.assert_allclose(g.states, w.states, atol=1e-4)
    long = [g for g, t in zip(got, batch, strict=True) if t.startswith("It hurts")]
    for g in long:
        assert g.truncated and g.states.shape[1] == MAX_TOKENS


def test_embeddings_match_torch(torch_encoder: TextEncoder) -> None:
    got, want = get_encoder().embed(TEXTS), torch_encoder.embed(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_float32_distress_layers_match_their_torch_module() -> None:
    model = DistressModel.load(TUNED_ARTIFACT).with_int8(False)
    k = model.layers.index(model.base_layer)
    for st in get_encoder().token_states(TEXTS, model.layers):
        states = model.states(st.states)
        np.testing.assert_array_equal(states[: k + 1], st.states[: k + 1])
        with torch.inference_mode():
            h = torch.from_numpy(st.states[k])[None]
            want = torch.stack([t[0] for t in model.top(h, None)]).numpy()
        np.testing.assert_allclose(states[k + 1 :], want, atol=1e-4)


def test_int8_distress_layers_are_a_different_model_close_to_the_float_one() -> None:
    model = DistressModel.load(TUNED_ARTIFACT).with_int8(False)
    q = model.with_int8(True)
    # features are cached by digest: the int8 run must not read the float run's cache
    assert q.digest != model.digest and q.with_int8(False).digest == model.digest
    for st in get_encoder().token_states(TEXTS[:3], model.layers):
        a = model.probability(pooled_features(model.states(st.states))[0])
        b = q.probability(pooled_features(q.states(st.states))[0])
        assert abs(a - b) < 0.1
