"""Fine-tuned distress scorer: MiniLM's top layers re-trained on VADER, plus a linear head.

The concern heads read the *frozen* MiniLM (``models.encoder``). The distress model shares
that encoder's bottom: it takes the frozen hidden states of layer ``base_layer`` (already
computed for the concern features) and runs its own fine-tuned copies of the layers above
it, so one window costs one frozen encoder pass plus ``6 - base_layer`` extra layers.

Its features have the same form as the concern heads' (mean-pooled token states of layers
1..6, each L2-normalised, concatenated), with the layers above ``base_layer`` taken from the
fine-tuned branch; the head is linear, so ``token_contributions`` still attributes the
distress logit exactly to the caller's words (``DistressModel.states`` gives the states).

Artifact ``models/artifacts/distress_tuned.npz`` (written by
``python -m models.train_distress_tuned``): the fine-tuned layers' weights in float16 and
the head in float32; the layer shapes come from the installed MiniLM's config, so nothing
is downloaded.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from models.encoder import EMBED_DIM

ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
TUNED_ARTIFACT = ARTIFACT_DIR / "distress_tuned.npz"
_PARAM_PREFIX = "top."


class DistressLoadError(RuntimeError):
    """The fine-tuned distress model is missing or unreadable."""


def minilm_config(model_dir: Path | None = None) -> Any:
    """The installed MiniLM's BertConfig (offline)."""
    from transformers import AutoConfig

    from models.encoder import default_model_dir

    path = Path(model_dir or os.environ.get("CARECUE_ENCODER_DIR") or default_model_dir())
    config = AutoConfig.from_pretrained(str(path), local_files_only=True)
    # The layers are used outside BertModel, which would otherwise pick the attention kernel.
    config._attn_implementation = "sdpa"
    return config


def build_top(config: Any, n_layers: int) -> Any:
    """A fresh ``TopLayers`` torch module (imports torch lazily)."""
    import torch
    from transformers.models.bert.modeling_bert import BertLayer

    class TopLayers(torch.nn.Module):
        """Copies of the encoder's top ``n_layers`` transformer layers."""

        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.ModuleList(BertLayer(config) for _ in range(n_layers))

        def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> list[torch.Tensor]:
            """Hidden states after each layer; ``mask`` (batch, tokens) bool or None."""
            add = None
            if mask is not None:
                add = torch.zeros(mask.shape, dtype=hidden.dtype)
                add = add.masked_fill(~mask, torch.finfo(hidden.dtype).min)[:, None, None, :]
            out = []
            for layer in self.layer:
                hidden = layer(hidden, add)
                if isinstance(hidden, tuple):  # older transformers return tuples
                    hidden = hidden[0]
                out.append(hidden)
            return out

    return TopLayers()


class DistressModel:
    """Fine-tuned top layers + linear distress head over per-layer pooled states."""

    def __init__(
        self,
        base_layer: int,
        layers: tuple[int, ...],
        top: Any,
        weights: np.ndarray,
        bias: float,
        threshold: float = 0.5,
        int8: bool = False,
    ) -> None:
        n_top = len(top.layer)
        if base_layer + n_top != layers[-1] or base_layer not in layers:
            raise DistressLoadError(
                f"base layer {base_layer} + {n_top} tuned layers do not fit feature layers {layers}"
            )
        if weights.shape != (len(layers) * EMBED_DIM,):
            raise DistressLoadError(f"distress head shape {weights.shape} != {len(layers)}x384")
        self.base_layer = base_layer
        self.layers = layers
        self.top = top.eval()
        self.weights = weights.astype(np.float32)
        self.bias = float(bias)
        self.threshold = float(threshold)
        self._lock = threading.Lock()
        # content hash of the weights (cache key for features; metadata is not part of it)
        h = hashlib.sha256(np.array([base_layer, *layers], dtype=np.int64).tobytes())
        h.update(self.weights.tobytes())
        h.update(np.float32(self.bias).tobytes())
        for k, v in sorted(self.top.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().numpy().astype(np.float16).tobytes())
        # How the layers run is part of what the features are: int8 moves them a little.
        self.int8 = bool(int8)
        if self.int8:
            h.update(b"int8-dynamic-per-channel")
        self.digest = h.hexdigest()[:16]
        # The torch module stays for training and ``save``; scoring runs its graph on
        # onnxruntime (``models.onnx_graph``), in int8 when asked.
        self._session = _top_session(self.top, self.int8)

    # -- artifact ----------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path = TUNED_ARTIFACT, config: Any = None) -> DistressModel:
        import torch

        try:
            with np.load(path, allow_pickle=False) as z:
                base_layer = int(z["base_layer"])
                layers = tuple(int(v) for v in z["layers"])
                n_top = int(z["n_top"])
                weights = z["weights"].astype(np.float32)
                bias = float(z["bias"])
                threshold = float(z["threshold"])
                int8 = bool(z["int8"]) if "int8" in z.files else False
                params = {
                    k[len(_PARAM_PREFIX) :]: torch.from_numpy(z[k].astype(np.float32))
                    for k in z.files
                    if k.startswith(_PARAM_PREFIX)
                }
        except (OSError, KeyError, ValueError) as exc:
            raise DistressLoadError(
                f"cannot read {path.name}: {exc}; rebuild it with "
                "'python -m models.train_distress_tuned'"
            ) from exc
        top = build_top(config or minilm_config(), n_top)
        missing, unexpected = top.load_state_dict(params, strict=False)
        if missing or unexpected:
            raise DistressLoadError(f"{path.name}: missing {missing}, unexpected {unexpected}")
        return cls(base_layer, layers, top, weights, bias, threshold, int8=int8)

    def with_int8(self, int8: bool = True) -> DistressModel:
        """The same weights, run with int8 dynamic quantization (or in float32)."""
        return DistressModel(
            self.base_layer, self.layers, self.top, self.weights, self.bias, self.threshold, int8
        )

    def save(self, path: Path, **meta: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {
            "base_layer": np.int64(self.base_layer),
            "layers": np.array(self.layers, dtype=np.int64),
            "n_top": np.int64(len(self.top.layer)),
            "weights": self.weights.astype(np.float32),
            "bias": np.float32(self.bias),
            "threshold": np.float32(self.threshold),
            "int8": np.bool_(self.int8),
        }
        for k, v in self.top.state_dict().items():
            arrays[_PARAM_PREFIX + k] = v.detach().cpu().numpy().astype(np.float16)
        arrays.update({k: np.asarray(v) for k, v in meta.items()})
        np.savez_compressed(path, **arrays)

    # -- scoring -----------------------------------------------------------------------------

    def states(self, frozen: np.ndarray) -> np.ndarray:
        """Distress token states from one text's frozen states.

        ``frozen`` is (len(layers), tokens, 384) for ``self.layers`` (the concern features'
        states, no padding); the layers above ``base_layer`` are replaced by the fine-tuned
        branch's.
        """
        k = self.layers.index(self.base_layer)
        h = np.ascontiguousarray(frozen[k], dtype=np.float32)[None]
        with self._lock:
            top = self._session.run(None, {"hidden": h})[0][:, 0]
        return np.concatenate([frozen[: k + 1], top], axis=0)

    def logit(self, features: np.ndarray) -> float:
        return float(np.asarray(features, dtype=np.float32) @ self.weights + self.bias)

    def probability(self, features: np.ndarray) -> float:
        return float(1.0 / (1.0 + np.exp(-np.clip(self.logit(features), -40, 40))))


def _top_session(top: Any, int8: bool) -> Any:
    """onnxruntime session: (1, tokens, 384) base-layer states -> (layers, 1, tokens, 384)."""
    import torch

    from models.onnx_graph import export_session

    class Stacked(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.top = top

        def forward(self, hidden: torch.Tensor) -> torch.Tensor:
            return torch.stack(self.top(hidden, None))

    return export_session(
        Stacked(),
        [torch.zeros(1, 3, EMBED_DIM)],
        ["hidden"],
        {"hidden": {1: "tokens"}, "out": {2: "tokens"}},
        int8=int8,
    )


def both_features_for_texts(
    texts: list[str], model: DistressModel
) -> tuple[np.ndarray, np.ndarray]:
    """Frozen features and distress features of many texts, as the shipped path makes them.

    One frozen encoder pass (batches of 64, as ``features_for_texts``), then the fine-tuned
    branch per text at batch 1, as in the classifier.
    """
    from models.classifier import pooled_features
    from models.encoder import get_encoder

    enc = get_encoder()
    dim = len(model.layers) * EMBED_DIM
    frozen = np.zeros((len(texts), dim), dtype=np.float32)
    out = np.zeros((len(texts), dim), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), 64):
        idx = order[start : start + 64]
        for i, ts in zip(idx, enc.token_states([texts[i] for i in idx], model.layers), strict=True):
            frozen[i] = pooled_features(ts.states)[0]
            out[i] = pooled_features(model.states(ts.states))[0]
    return frozen, out


def distress_features_for_texts(texts: list[str], model: DistressModel) -> np.ndarray:
    """Distress features (len(texts), layers*384) through the shipped path."""
    return both_features_for_texts(texts, model)[1]


def _save(path: Path, arr: np.ndarray) -> None:
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, arr.astype(np.float32))
    os.replace(tmp, path)


def cached_distress_features(texts: list[str], model: DistressModel) -> np.ndarray:
    """``distress_features_for_texts``, cached outside git by texts and model weights.

    Fills the frozen-feature cache of ``models.datasets.cached_features`` for the same texts
    on the way (same encoder pass), so the benchmark does not encode them twice.
    """
    from models.datasets import cache_dir, texts_digest

    digest = texts_digest(texts)
    path = cache_dir() / f"feat_distress_{model.digest}_{digest}.npy"
    dim = len(model.layers) * EMBED_DIM
    if path.exists():
        feats = np.load(path)
        if feats.shape == (len(texts), dim):
            return feats.astype(np.float32)
    frozen, feats = both_features_for_texts(texts, model)
    _save(path, feats)
    tag = "-".join(str(v) for v in model.layers)
    frozen_path = cache_dir() / f"feat_minilm_L{tag}_{digest}.npy"
    if not frozen_path.exists():
        _save(frozen_path, frozen)
    return feats
