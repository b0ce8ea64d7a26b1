"""Learned red-flag classifier: none / safety_check / self_harm / emergency per utterance.

The production classifier already runs the frozen all-MiniLM-L6-v2 encoder and can hand out
the per-token hidden states of any layer (``TextEncoder.token_states(texts, (k,))``). This
model consumes hidden state ``input_layer`` (0 = the embeddings output) of one text, runs its
*own fine-tuned copies* of MiniLM transformer layers ``input_layer+1 .. 6`` over it, mean
pools the tokens ([CLS]/[SEP] included, as sentence-transformers does) and applies a linear
head with a softmax over ``CLASSES``.

The transformer layer is re-implemented here in plain torch (post-LayerNorm BERT layer, exact
GELU, eps 1e-12) so that the artifact does not depend on the internals of a ``transformers``
release; ``tests/models/test_redflag.py`` checks that the copied weights reproduce MiniLM.

Decisions are made with per-class ``thresholds`` chosen by GroupKFold cross-validation by
phrasing family on the training data (see ``models/train_redflag.py`` and
``models/cards/redflag.md``): a red flag of kind ``c`` is raised when ``probs[:, c] >=
thresholds[c]``; the reviewed patterns in ``models/crisis.py`` are OR-combined by the caller.

An artifact may hold several such nets (an ensemble of seeds, ``meta["n_nets"]``); their
probabilities are averaged. The service scores one text at a time through
``on_onnxruntime()``: all nets and the average traced into one onnxruntime graph.

Inference is thread-safe: the torch modules are in eval mode and every call runs under
``torch.inference_mode``; an onnxruntime session's ``run`` may be called from several
threads. No call keeps state, and torch's thread count is not touched.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

CLASSES: tuple[str, ...] = ("none", "safety_check", "self_harm", "emergency")
RED_FLAG_CLASSES: tuple[str, ...] = CLASSES[1:]
HIDDEN = 384
HEADS = 12
INTERMEDIATE = 1536
N_LAYERS = 6
LN_EPS = 1e-12
DEFAULT_ARTIFACT = Path(__file__).resolve().parent / "artifacts" / "redflag.pt"


class BertLayer(nn.Module):
    """One post-LN BERT encoder layer with MiniLM's shapes (384 hidden, 12 heads)."""

    def __init__(self, dropout: float = 0.1) -> None:
        super().__init__()
        self.q = nn.Linear(HIDDEN, HIDDEN)
        self.k = nn.Linear(HIDDEN, HIDDEN)
        self.v = nn.Linear(HIDDEN, HIDDEN)
        self.attn_out = nn.Linear(HIDDEN, HIDDEN)
        self.attn_ln = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.inter = nn.Linear(HIDDEN, INTERMEDIATE)
        self.out = nn.Linear(INTERMEDIATE, HIDDEN)
        self.out_ln = nn.LayerNorm(HIDDEN, eps=LN_EPS)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, key_bias: torch.Tensor) -> torch.Tensor:
        """``x`` (batch, tokens, 384); ``key_bias`` (batch, 1, 1, tokens): 0 or -inf-ish."""
        b, t, _ = x.shape
        dh = HIDDEN // HEADS

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, HEADS, dh).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + key_bias
        attn = self.drop(torch.softmax(scores, dim=-1))
        ctx = (attn @ v).transpose(1, 2).reshape(b, t, HIDDEN)
        h = self.attn_ln(x + self.drop(self.attn_out(ctx)))
        ff = self.out(nn.functional.gelu(self.inter(h)))
        return self.out_ln(h + self.drop(ff))


# MiniLM (HF BertModel) parameter names of one layer -> ours.
_HF_NAMES = {
    "attention.self.query": "q",
    "attention.self.key": "k",
    "attention.self.value": "v",
    "attention.output.dense": "attn_out",
    "attention.output.LayerNorm": "attn_ln",
    "intermediate.dense": "inter",
    "output.dense": "out",
    "output.LayerNorm": "out_ln",
}


class RedFlagNet(nn.Module):
    """Layers ``input_layer+1..6`` of MiniLM (fine-tuned copies), mean pooling, linear head."""

    def __init__(self, input_layer: int, dropout: float = 0.1) -> None:
        super().__init__()
        if not 0 <= input_layer < N_LAYERS:
            raise ValueError(f"input_layer must be in 0..{N_LAYERS - 1}, got {input_layer}")
        self.input_layer = input_layer
        self.layers = nn.ModuleList(BertLayer(dropout) for _ in range(N_LAYERS - input_layer))
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(HIDDEN, len(CLASSES))

    def load_minilm(self, hf_state: dict[str, torch.Tensor]) -> None:
        """Copy the pretrained weights of layers ``input_layer+1..6`` from a BertModel."""
        for j, layer in enumerate(self.layers):
            src = self.input_layer + j  # HF encoder.layer index (0-based) of hidden state j+1
            own: dict[str, torch.Tensor] = {}
            for hf, ours in _HF_NAMES.items():
                for p in ("weight", "bias"):
                    key = f"encoder.layer.{src}.{hf}.{p}"
                    if key not in hf_state:
                        key = "bert." + key
                    own[f"{ours}.{p}"] = hf_state[key]
            layer.load_state_dict(own)

    def encode(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean-pooled final states; ``x`` (b, t, 384), ``mask`` (b, t) bool."""
        bias = torch.zeros(mask.shape, dtype=x.dtype, device=x.device)
        bias = bias.masked_fill(~mask, torch.finfo(x.dtype).min)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        m = mask.unsqueeze(-1).to(x.dtype)
        return (x * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Class logits, shape (b, 4)."""
        return self.head(self.drop(self.encode(x, mask)))


def pad_states(states: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack variable-length (tokens, 384) arrays into a padded batch and its mask."""
    n = len(states)
    t = max((s.shape[0] for s in states), default=1) or 1
    x = torch.zeros((n, t, HIDDEN), dtype=torch.float32)
    mask = torch.zeros((n, t), dtype=torch.bool)
    for i, s in enumerate(states):
        _check_shape(s, i)
        x[i, : s.shape[0]] = torch.from_numpy(np.asarray(s, dtype=np.float32))
        mask[i, : s.shape[0]] = True
    return x, mask


def _check_shape(s: np.ndarray, i: int) -> None:
    """A text's states are (tokens >= 1, 384): [CLS] and [SEP] are always there."""
    if np.ndim(s) != 2 or np.shape(s)[1] != HIDDEN or not np.shape(s)[0]:
        raise ValueError(f"states[{i}] must have shape (tokens >= 1, {HIDDEN}), got {np.shape(s)}")


class RedFlagModel:
    """Loaded red-flag classifier. Use ``RedFlagModel.load()``; see the module docstring."""

    classes: tuple[str, ...] = CLASSES

    def __init__(
        self,
        net: RedFlagNet | Sequence[RedFlagNet],
        thresholds: dict[str, float],
        meta: dict[str, Any] | None = None,
    ) -> None:
        nets = [net] if isinstance(net, RedFlagNet) else list(net)
        if not nets or len({n.input_layer for n in nets}) != 1:
            raise ValueError("a red-flag model needs one or more nets reading the same layer")
        for n in nets:
            n.eval()
            for p in n.parameters():
                p.requires_grad_(False)
        self._nets = nets
        self._n_nets = len(nets)
        self._session: Any = None  # onnxruntime session (``on_onnxruntime``); then no nets
        self.input_layer: int = nets[0].input_layer
        self.thresholds: dict[str, float] = dict(thresholds)
        self.meta: dict[str, Any] = dict(meta or {})

    @classmethod
    def load(cls, path: Path | str = DEFAULT_ARTIFACT) -> RedFlagModel:
        """Load the artifact written by ``models.train_redflag`` (fp16 weights, no network)."""
        blob = torch.load(Path(path), map_location="cpu", weights_only=True)
        meta = json.loads(bytes(blob["meta"].tolist()).decode("utf-8"))
        nets = []
        # One net: keys "w.<param>"; an ensemble of n seeds: "w0.<param>" .. "w{n-1}.<param>".
        prefixes = ["w."] if "n_nets" not in meta else [f"w{i}." for i in range(meta["n_nets"])]
        for prefix in prefixes:
            net = RedFlagNet(int(meta["input_layer"]), dropout=0.0)
            state = {k[len(prefix) :]: v.float() for k, v in blob.items() if k.startswith(prefix)}
            net.load_state_dict(state)
            nets.append(net)
        thresholds = {str(k): float(v) for k, v in meta["thresholds"].items()}
        return cls(nets, thresholds, meta)

    @property
    def n_nets(self) -> int:
        """How many nets are averaged (an ensemble of seeds, or one)."""
        return self._n_nets

    def _torch_nets(self) -> list[RedFlagNet]:
        if self._session is not None:
            raise RuntimeError(
                "this red-flag model runs on onnxruntime and keeps no torch weights; "
                "load the artifact again (RedFlagModel.load) to save, quantize or trace it"
            )
        return self._nets

    def save(self, path: Path | str) -> None:
        """Write fp16 weights plus JSON metadata (input layer, thresholds, provenance)."""
        nets = self._torch_nets()
        meta = dict(self.meta, input_layer=self.input_layer, thresholds=self.thresholds)
        for derived in ("n_nets", "runtime", "quantized"):  # what this object is, not the file
            meta.pop(derived, None)
        if len(nets) > 1:
            meta["n_nets"] = len(nets)
        raw = json.dumps(meta, sort_keys=True).encode("utf-8")
        blob: dict[str, torch.Tensor] = {
            "meta": torch.tensor(list(raw), dtype=torch.uint8),
        }
        for i, net in enumerate(nets):
            prefix = "w." if len(nets) == 1 else f"w{i}."
            for k, v in net.state_dict().items():
                blob[prefix + k] = v.detach().to(torch.float16).contiguous()
        buf = io.BytesIO()
        torch.save(blob, buf)
        Path(path).write_bytes(buf.getvalue())

    def quantized(self) -> RedFlagModel:
        """The same model with int8 dynamic quantization of its linear layers.

        The service ran this one until issue 9's third round; it now runs
        ``on_onnxruntime()`` (faster, and closer to the float32 probabilities the tiers are
        chosen on: ``bench/redflag_runtime_bench.py``).
        """
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao's notice about moving to torchao
            nets = [
                torch.ao.quantization.quantize_dynamic(net, {nn.Linear}, dtype=torch.qint8)
                for net in self._torch_nets()
            ]
        return RedFlagModel(nets, self.thresholds, dict(self.meta, quantized="int8-dynamic"))

    def on_onnxruntime(self, int8: bool = True) -> RedFlagModel:
        """The same model run on onnxruntime, one text per graph call (the service's model).

        The classifier scores one text at a time; at that size torch spends as much time in
        dispatch as in the products (``models/onnx_graph.py``). All the nets and their
        average go into one graph, traced from these weights when called (about 5 s).
        ``int8``: the MatMul weights in int8 per output channel, activations quantized per
        call. A batch is scored text by text, so it gives what single texts give. The
        returned model keeps no torch weights (about 110 MB for three nets).
        """
        from models.onnx_graph import export_session

        nets = self._torch_nets()

        class Averaged(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.nets = nn.ModuleList(nets)

            def forward(self, hidden: torch.Tensor) -> torch.Tensor:
                mask = torch.ones(hidden.shape[:2], dtype=torch.bool)
                probs = [torch.softmax(net(hidden, mask), dim=-1) for net in self.nets]
                return torch.stack(probs).mean(dim=0)

        session = export_session(
            Averaged(),
            [torch.zeros(1, 3, HIDDEN)],
            ["hidden"],
            {"hidden": {1: "tokens"}},
            int8=int8,
        )
        runtime = "onnxruntime-int8" if int8 else "onnxruntime"
        model = RedFlagModel(nets, self.thresholds, dict(self.meta, runtime=runtime))
        model._session = session
        model._nets = []
        return model

    def predict(self, states: list[np.ndarray]) -> np.ndarray:
        """Class probabilities, shape (n, 4), order ``CLASSES``, rows summing to 1.

        ``states[i]`` is the (tokens, 384) hidden state of layer ``input_layer`` of text i,
        [CLS]/[SEP] included and padding removed: exactly
        ``TextEncoder.token_states(texts, (input_layer,))[i].states[0]``.
        """
        if not states:
            return np.zeros((0, len(CLASSES)), dtype=np.float32)
        if self._session is not None:
            for i, s in enumerate(states):
                _check_shape(s, i)
            return np.concatenate(
                [
                    self._session.run(None, {"hidden": np.asarray(s, dtype=np.float32)[None]})[0]
                    for s in states
                ]
            ).astype(np.float32)
        x, mask = pad_states(states)
        with torch.inference_mode():
            probs = sum(torch.softmax(net(x, mask), dim=-1) for net in self._nets)
        assert isinstance(probs, torch.Tensor)
        return (probs / len(self._nets)).numpy().astype(np.float32)

    def flags(self, probs: np.ndarray) -> list[tuple[str, ...]]:
        """The red-flag kinds whose probability reaches its threshold, per row."""
        out: list[tuple[str, ...]] = []
        for row in np.atleast_2d(probs):
            out.append(
                tuple(
                    c
                    for c in RED_FLAG_CLASSES
                    if row[CLASSES.index(c)] >= self.thresholds.get(c, math.inf)
                )
            )
        return out
