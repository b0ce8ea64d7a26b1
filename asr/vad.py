"""Voice activity detection and endpointing.

:class:`SileroVad` wraps the Silero VAD ONNX model that ships inside faster-whisper (one
``InferenceSession`` per process, one intra-op thread; ``run`` is thread-safe).
:class:`VadStream` holds one track's recurrent state and scores 16 kHz audio in 512-sample
windows (32 ms) as it arrives. :class:`Endpointer` turns the scores into utterance
boundaries: start after a little speech, end after ``end_silence_s`` of silence, and a
forced cut when an utterance reaches ``max_utterance_s``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np

from asr.engines.base import ENGINE_RATE, EngineLoadError

WINDOW: Final = 512
"""Samples per VAD window at 16 kHz (32 ms); the model was trained on exactly this size."""
_CONTEXT: Final = 64  # samples of the previous window the model sees in front of each window


def silero_model_path() -> Path:
    """Path of the Silero VAD ONNX file inside the installed faster-whisper package."""
    try:
        import faster_whisper
    except ImportError as exc:  # pragma: no cover - faster-whisper is a hard dependency
        raise EngineLoadError(
            "the Silero VAD model ships with faster-whisper; install it: pip install faster-whisper"
        ) from exc
    assets = Path(faster_whisper.__file__).parent / "assets"
    found = sorted(assets.glob("silero_vad*.onnx"))
    if not found:
        raise EngineLoadError(
            f"no silero_vad*.onnx in {assets}; reinstall faster-whisper (pip install -U "
            "--force-reinstall faster-whisper)"
        )
    return found[-1]


class SileroVad:
    """The shared Silero VAD model. Per-stream state lives in :class:`VadStream`."""

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        # One thread: VAD runs inside each stream's executor job, and many streams share
        # two cores with the ASR engine; intra-op parallelism would only add contention.
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.enable_cpu_mem_arena = False
        opts.log_severity_level = 4
        self.path = path or silero_model_path()
        try:
            self._session = onnxruntime.InferenceSession(
                str(self.path), providers=["CPUExecutionProvider"], sess_options=opts
            )
        except Exception as exc:
            raise EngineLoadError(
                f"could not load the Silero VAD model {self.path}: {exc}"
            ) from exc

    def run(
        self, windows: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score ``windows`` (n, 576: 64 context + 512 new samples) in order, carrying state."""
        probs, h, c = self._session.run(None, {"input": windows, "h": h, "c": c})
        return np.asarray(probs, dtype=np.float32).reshape(-1), h, c

    def stream(self) -> VadStream:
        """Fresh per-track state."""
        return VadStream(self)


_shared: SileroVad | None = None
_shared_lock = threading.Lock()


def get_vad() -> SileroVad:
    """The process-wide Silero VAD model, loaded on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SileroVad()
        return _shared


class VadStream:
    """Speech probabilities for one continuous 16 kHz track, fed in chunks of any size."""

    def __init__(self, model: SileroVad) -> None:
        self._model = model
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self.windows_done = 0

    def process(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Score every window completed by ``audio``.

        Returns ``(probs, samples)``: one probability per completed window and the audio
        of those windows (``len(probs) * WINDOW`` samples); the remainder waits for more.
        """
        buf = np.concatenate([self._pending, np.asarray(audio, dtype=np.float32)])
        n = len(buf) // WINDOW
        if n == 0:
            self._pending = buf
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)
        done, self._pending = buf[: n * WINDOW], buf[n * WINDOW :]
        windows = done.reshape(n, WINDOW)
        contexts = np.concatenate([self._context[None, :], windows[:-1, -_CONTEXT:]], axis=0)
        batch = np.ascontiguousarray(np.concatenate([contexts, windows], axis=1))
        probs, self._h, self._c = self._model.run(batch, self._h, self._c)
        self._context = windows[-1, -_CONTEXT:].copy()
        self.windows_done += n
        return probs, done

    def flush(self) -> tuple[np.ndarray, np.ndarray]:
        """Score the final partial window, zero-padded; the stream is finished."""
        if len(self._pending) == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32)
        tail = len(self._pending)
        padded = np.concatenate([self._pending, np.zeros(WINDOW - tail, dtype=np.float32)])
        self._pending = np.zeros(0, dtype=np.float32)
        probs, audio = self.process(padded)
        return probs, audio[:tail]


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """Endpointing knobs, in seconds of track time.

    ``threshold`` starts speech; once speaking, windows at or above ``neg_threshold`` still
    count as speech (hysteresis, so soft word endings do not end an utterance).
    In the last ``cut_search_s`` before ``max_utterance_s`` a pause of ``cut_silence_s``
    already ends the utterance, so long monologues split between words rather than
    through one.
    """

    threshold: float = 0.5
    neg_threshold: float = 0.35
    min_speech_s: float = 0.09
    end_silence_s: float = 0.5
    max_utterance_s: float = 15.0
    cut_search_s: float = 3.0
    cut_silence_s: float = 0.1


@dataclass(frozen=True, slots=True)
class Boundary:
    """An utterance boundary at ``sample`` (16 kHz sample index in the track).

    ``start``: speech began; ``end``: speech ended (``sample`` is the end of the last speech
    window); ``cut``: the utterance reached the maximum length and was cut at ``sample``,
    and the next utterance starts at the same sample.
    """

    kind: Literal["start", "end", "cut"]
    sample: int


class Endpointer:
    """Turns per-window speech probabilities into utterance boundaries."""

    def __init__(self, config: EndpointConfig | None = None, rate: int = ENGINE_RATE) -> None:
        self.config = config or EndpointConfig()
        cfg = self.config
        self._min_speech = int(cfg.min_speech_s * rate)
        self._end_silence = int(cfg.end_silence_s * rate)
        self._max_len = int(cfg.max_utterance_s * rate)
        self._search_from = int(max(0.0, cfg.max_utterance_s - cfg.cut_search_s) * rate)
        self._cut_silence = int(cfg.cut_silence_s * rate)
        self.in_speech = False
        self.utterance_start = 0
        self.last_speech_end = 0
        self._candidate: int | None = None
        self._run = 0

    def step(self, prob: float, start: int, end: int) -> list[Boundary]:
        """Feed the probability of the window ``[start, end)``; returns boundaries it causes."""
        cfg = self.config
        if not self.in_speech:
            if prob >= cfg.threshold:
                if self._candidate is None:
                    self._candidate = start
                self._run += end - start
                if self._run >= self._min_speech:
                    self.in_speech = True
                    self.utterance_start = self._candidate
                    self.last_speech_end = end
                    self._candidate, self._run = None, 0
                    return [Boundary("start", self.utterance_start)]
            elif prob < cfg.neg_threshold:
                self._candidate, self._run = None, 0
            return []
        if prob >= cfg.neg_threshold:
            self.last_speech_end = end
        else:
            silent = end - self.last_speech_end
            long_already = self.last_speech_end - self.utterance_start >= self._search_from
            if silent >= self._end_silence or (long_already and silent >= self._cut_silence):
                self.in_speech = False
                return [Boundary("end", self.last_speech_end)]
        if end - self.utterance_start >= self._max_len:
            self.utterance_start = end
            self.last_speech_end = end
            return [Boundary("cut", end)]
        return []

    def flush(self) -> list[Boundary]:
        """End of input: close an utterance that is still open."""
        self._candidate, self._run = None, 0
        if self.in_speech:
            self.in_speech = False
            return [Boundary("end", self.last_speech_end)]
        return []
