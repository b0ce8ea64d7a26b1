"""Shared fixtures for the ASR tests: espeak-ng speech, telephone encodings, engines."""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import shutil
import struct
import subprocess
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from asr import codecs
from asr.engines.base import ENGINE_RATE, EngineResult
from asr.types import Word

Speak = Callable[..., np.ndarray]

# Sentences a medical support line hears; tests assert on their key words.
SICK = "I have been feeling very sick since yesterday and I am really scared."
APPOINTMENT = "Can you help me change my appointment with the doctor on Monday?"
MEDICATION = (
    "My new blood pressure medication makes me dizzy every morning, and I do not know "
    "whether I should keep taking it or call my doctor first, because the pharmacy was "
    "closed yesterday and nobody answered the phone at the clinic when I called twice."
)


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("espeak")


@pytest.fixture(scope="session")
def speak(speech_dir: Path) -> Speak:
    """``speak(text, voice="en-us", rate=ENGINE_RATE) -> float32`` speech via espeak-ng."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")

    def _speak(text: str, voice: str = "en-us", rate: int = ENGINE_RATE) -> np.ndarray:
        key = hashlib.sha1(f"{voice}|{text}".encode()).hexdigest()[:16]
        path = speech_dir / f"{key}.wav"
        if not path.exists():
            out = subprocess.run(
                ["espeak-ng", "-v", voice, "-s", "150", "--stdout", text],
                check=True,
                capture_output=True,
            ).stdout
            path.write_bytes(out)
        with wave.open(io.BytesIO(path.read_bytes())) as w:
            src_rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return codecs.resample(codecs.pcm16_to_float(pcm), src_rate, rate)

    return _speak


def espeak_sox(text: str, voice: str, speed: int) -> np.ndarray:
    """espeak-ng speech resampled by sox to 16 kHz float32 (skips without the tools).

    The engine accuracy tests use this exact rendering: their error bounds were measured on it.
    """
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("espeak-ng and sox are needed (apt-get install espeak-ng sox)")
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        capture_output=True, check=True,
    ).stdout
    raw = subprocess.run(
        ["sox", "-t", "wav", "-", "-t", "raw", "-r", str(ENGINE_RATE), "-c", "1", "-b", "16",
         "-e", "signed-integer", "-"],
        input=wav, capture_output=True, check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def silence(seconds: float, rate: int = ENGINE_RATE) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.float32)


def to_mulaw_frames(audio_16k: np.ndarray, frame_s: float = 0.02) -> list[bytes]:
    """16 kHz float audio as a telephone would send it: 8 kHz mu-law in 20 ms frames."""
    data = codecs.encode_from_float(codecs.resample(audio_16k, ENGINE_RATE, 8000), "mulaw")
    step = int(8000 * frame_s)
    return [data[i : i + step] for i in range(0, len(data), step)]


def words_of(text: str) -> set[str]:
    return {w.strip(".,?!;:'\"").lower() for w in text.split()}


@pytest.fixture
def executor() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="asr") as ex:
        yield ex


@pytest.fixture(scope="session")
def tiny_en():  # type: ignore[no-untyped-def]
    """The shared whisper tiny.en engine (loaded once for the session)."""
    from asr.engines.registry import get_engine

    return get_engine("whisper", whisper_model="tiny.en")


class ScriptedDecoder:
    """Reports how much audio it got; no model, so tests of plumbing run fast."""

    def __init__(self, engine: ScriptedEngine) -> None:
        self.engine = engine
        self.samples = 0

    def accept(self, audio: np.ndarray) -> str | None:
        self.engine.accepted.append(len(audio))
        self.samples += len(audio)
        if self.engine.native_partials:
            return f"heard {self.samples // ENGINE_RATE} seconds"
        return None

    def partial(self) -> str:
        return f"so far {self.samples / ENGINE_RATE:.1f}"

    def finish(self) -> EngineResult:
        if self.engine.fail:
            raise RuntimeError("decoder exploded")
        seconds = self.samples / ENGINE_RATE
        return EngineResult(f"utterance of {seconds:.1f}", (Word("utterance", 0.0, seconds),))


class ScriptedEngine:
    """A fake engine (optionally with native partials, optionally failing in ``finish``)."""

    name = "scripted"

    def __init__(self, native_partials: bool = False, fail: bool = False) -> None:
        self.native_partials = native_partials
        self.fail = fail
        self.accepted: list[int] = []

    def start_utterance(self) -> ScriptedDecoder:
        return ScriptedDecoder(self)

    def transcribe(self, audio: np.ndarray) -> EngineResult:
        decoder = self.start_utterance()
        decoder.accept(audio)
        return decoder.finish()


def wav_bytes(
    tag: int, channels: int, rate: int, bits: int, data: bytes, extensible: bool = False
) -> bytes:
    """A RIFF/WAVE file (optionally WAVE_FORMAT_EXTENSIBLE) with an extra LIST chunk."""
    block = channels * bits // 8
    fmt = struct.pack(
        "<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * block, block, bits
    )
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + guid_tail
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 4) + b"INFO"  # a chunk readers must skip
    body += b"data" + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body
