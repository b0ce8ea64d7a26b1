"""Typed, immutable events that flow out of the ASR layer.

These are the only shapes other layers see: the adapters in ``app/ingest`` produce
``AudioFrame``; a ``StreamingTranscriber`` turns them into ``TranscriptPartial`` and
``TranscriptFinal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Speaker = Literal["caller", "agent"]
SPEAKERS: tuple[Speaker, ...] = ("caller", "agent")

Encoding = Literal["pcm_s16le", "mulaw", "alaw"]
ENCODINGS: tuple[Encoding, ...] = ("pcm_s16le", "mulaw", "alaw")


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """One chunk of one track's audio, already split per speaker.

    ``data`` holds mono samples in ``encoding`` at ``sample_rate``; the transcriber
    decodes and resamples. ``timestamp_s`` is the stream time of the first sample, when
    the platform tells it (else the transcriber counts samples).
    """

    track: Speaker
    data: bytes
    sample_rate: int = 8000
    encoding: Encoding = "pcm_s16le"
    timestamp_s: float | None = None


@dataclass(frozen=True, slots=True)
class Word:
    """A recognised word with times in seconds from the start of the track."""

    text: str
    start_s: float
    end_s: float
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class TranscriptPartial:
    """Interim hypothesis for an utterance that is still going on."""

    speaker: Speaker
    text: str
    segment_id: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class TranscriptFinal:
    """The settled text of one utterance.

    ``speech_end_monotonic`` is ``time.monotonic()`` when the transcriber saw the end of
    speech (VAD endpoint or end of stream); latency metrics measure from it.
    """

    speaker: Speaker
    text: str
    start_s: float
    end_s: float
    words: tuple[Word, ...] = ()
    segment_id: str = ""
    speech_end_monotonic: float | None = field(default=None, compare=False)


TranscriptEvent = TranscriptPartial | TranscriptFinal
