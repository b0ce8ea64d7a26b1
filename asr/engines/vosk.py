"""Vosk (Kaldi) engine: true incremental partials and word times.

One ``vosk.Model`` is loaded per engine and shared read-only by every call; each
utterance gets its own ``KaldiRecognizer`` (the only per-utterance state). Vosk decodes
as audio arrives, so partials cost nothing extra and ``finish()`` only flushes the tail.

No English vosk model ships in any package registry, so the model directory comes from
the ``CARECUE_VOSK_MODEL_DIR`` setting (see ``docs/asr/vosk-english.md``).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from asr.engines.base import ENGINE_RATE, EngineLoadError, EngineResult
from asr.types import Word

log = logging.getLogger(__name__)

SETTING = "CARECUE_VOSK_MODEL_DIR"

_HOW_TO_GET_A_MODEL = (
    "Download an English vosk model (for example vosk-model-small-en-us-0.15 or "
    "vosk-model-en-us-0.22-lgraph from https://alphacephei.com/vosk/models) on a machine with "
    "internet access, unpack it, copy the unpacked directory to this machine and set "
    f"{SETTING} to it (the directory that contains am/, conf/ and graph/). "
    "See docs/asr/vosk-english.md."
)

_log_level_lock = threading.Lock()
_log_level_set = False


def _silence_vosk() -> None:
    """Silence vosk's C++ logging (process-wide, set once).

    Level -1 still lets Kaldi warnings through (for example one line per grammar word
    missing from the vocabulary); -2 keeps only errors.
    """
    global _log_level_set
    with _log_level_lock:
        if not _log_level_set:
            import vosk

            vosk.SetLogLevel(-2)
            _log_level_set = True


def _check_layout(model_dir: Path) -> None:
    """Fail early, with a useful message, on directories that are not vosk models.

    Vosk's own failure is an opaque ``Exception("Failed to create a model")``.
    """
    if not model_dir.is_dir():
        raise EngineLoadError(
            f"vosk model directory {str(model_dir)!r} does not exist ({SETTING}). "
            + _HOW_TO_GET_A_MODEL
        )
    missing = [p for p in ("am/final.mdl", "conf/mfcc.conf") if not (model_dir / p).is_file()]
    graph = model_dir / "graph"
    has_graph = (graph / "HCLG.fst").is_file() or (
        (graph / "HCLr.fst").is_file() and (graph / "Gr.fst").is_file()
    )
    if not has_graph:
        missing.append("graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)")
    if missing:
        raise EngineLoadError(
            f"{str(model_dir)!r} ({SETTING}) is not an unpacked vosk model: missing "
            + ", ".join(missing)
            + ". If you unpacked a zip, point the setting at the inner directory. "
            + _HOW_TO_GET_A_MODEL
        )


def _to_pcm16(audio: np.ndarray) -> bytes:
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"engine audio must be mono (1-D), got shape {samples.shape}")
    samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def _words(result: dict[str, Any]) -> list[Word]:
    out: list[Word] = []
    for item in result.get("result", ()):
        start = max(0.0, float(item["start"]))
        end = max(start, float(item["end"]))
        conf = item.get("conf")
        out.append(
            Word(
                text=str(item["word"]),
                start_s=start,
                end_s=end,
                confidence=float(conf) if conf is not None else None,
            )
        )
    return out


class VoskUtteranceDecoder:
    """Per-utterance state: one ``KaldiRecognizer`` at 16 kHz.

    Vosk runs its own endpointer; when it closes a segment inside our utterance we keep
    that segment's result, so the final text covers the whole utterance. Word times are
    relative to the utterance start because the recognizer starts with it.
    """

    def __init__(self, model: Any, grammar_json: str | None) -> None:
        from vosk import KaldiRecognizer

        if grammar_json is None:
            rec = KaldiRecognizer(model, float(ENGINE_RATE))
        else:
            rec = KaldiRecognizer(model, float(ENGINE_RATE), grammar_json)
        rec.SetWords(True)
        if hasattr(rec, "SetPartialWords"):
            rec.SetPartialWords(True)
        self._rec = rec
        self._segments: list[dict[str, Any]] = []
        self._partial = ""
        self._done = False

    def _check_open(self) -> None:
        if self._done:
            raise RuntimeError("utterance decoder already finished")

    def _closed_text(self) -> str:
        return " ".join(t for t in (s.get("text", "") for s in self._segments) if t)

    def accept(self, audio: np.ndarray) -> str | None:
        """Feed audio; return the current partial hypothesis for the whole utterance."""
        self._check_open()
        data = _to_pcm16(audio)
        if not data:
            return self._partial
        if self._rec.AcceptWaveform(data):
            self._segments.append(json.loads(self._rec.Result()))
            current = ""
        else:
            current = json.loads(self._rec.PartialResult()).get("partial", "")
        self._partial = " ".join(t for t in (self._closed_text(), current) if t)
        return self._partial

    def partial(self) -> str:
        """The latest partial (vosk decodes as audio arrives, so this is free)."""
        return self._partial

    def finish(self) -> EngineResult:
        """Flush the recognizer and return text plus word times."""
        self._check_open()
        self._done = True
        self._segments.append(json.loads(self._rec.FinalResult()))
        words: list[Word] = []
        for seg in self._segments:
            words.extend(_words(seg))
        text = self._closed_text()
        self._rec = None
        return EngineResult(text=text, words=tuple(words))


class VoskEngine:
    """A vosk model shared by every call.

    ``grammar`` (optional) restricts recognition to a phrase list (vosk grammar mode; only
    models with a dynamic graph, ``graph/HCLr.fst`` + ``graph/Gr.fst``, support it).
    Include ``"[unk]"`` to let out-of-grammar speech map to unknown instead of the
    nearest phrase. Phrases must use words from the model's vocabulary.
    """

    name = "vosk"
    native_partials = True

    def __init__(self, model_dir: Path, grammar: list[str] | None = None) -> None:
        model_dir = Path(model_dir).expanduser()
        _check_layout(model_dir)
        try:
            import vosk
        except ImportError as exc:  # pragma: no cover - vosk is a hard dependency
            raise EngineLoadError(
                "the vosk package is not installed: pip install 'vosk==0.3.45'"
            ) from exc
        _silence_vosk()
        try:
            self._model = vosk.Model(str(model_dir))
        except Exception as exc:
            raise EngineLoadError(
                f"vosk could not load the model in {str(model_dir)!r} ({SETTING}): {exc}. "
                + _HOW_TO_GET_A_MODEL
            ) from exc
        if grammar is not None and not grammar:
            raise ValueError("grammar must be None or a non-empty phrase list")
        self.model_dir = model_dir
        self._grammar_json = (
            json.dumps(list(grammar), ensure_ascii=False) if grammar is not None else None
        )
        log.info(
            "vosk model loaded dir=%s grammar_phrases=%d",
            model_dir,
            len(grammar) if grammar else 0,
        )

    def start_utterance(self) -> VoskUtteranceDecoder:
        """A fresh recognizer for one utterance."""
        return VoskUtteranceDecoder(self._model, self._grammar_json)

    def transcribe(self, audio: np.ndarray) -> EngineResult:
        """Decode one whole utterance."""
        dec = self.start_utterance()
        dec.accept(audio)
        return dec.finish()
