"""The one protocol every ASR engine implements.

An engine holds the shared model (loaded once per process, read-only afterwards). Each
utterance gets its own ``UtteranceDecoder`` that holds only per-utterance state, so many
calls can share one engine. All methods are blocking and CPU bound: the streaming
transcriber calls them from a bounded executor, never on the event loop.

Audio handed to an engine is always mono float32 in [-1, 1] at ``ENGINE_RATE`` (16 kHz).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from asr.types import Word

ENGINE_RATE = 16_000


@dataclass(frozen=True, slots=True)
class EngineResult:
    """Text of an utterance, with word times relative to the utterance start."""

    text: str
    words: tuple[Word, ...] = ()


class UtteranceDecoder(Protocol):
    """Per-utterance decoding state."""

    def accept(self, audio: np.ndarray) -> str | None:
        """Feed more audio; engines with native partials return the current partial text."""
        ...

    def partial(self) -> str:
        """Best hypothesis for the audio so far (engines without native partials decode here)."""
        ...

    def finish(self) -> EngineResult:
        """Decode everything accepted and return the final result; the decoder is spent."""
        ...


class AsrEngine(Protocol):
    """A loaded ASR model shared by every call."""

    name: str
    native_partials: bool

    def start_utterance(self) -> UtteranceDecoder: ...

    def transcribe(self, audio: np.ndarray) -> EngineResult:
        """Convenience: decode one whole utterance."""
        ...


class EngineLoadError(RuntimeError):
    """A model failed to load. The message names the setting and what to install."""
