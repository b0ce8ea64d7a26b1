"""Typed errors of the ASR layer.

Every error says whether retrying can help (``retryable``) and carries a message a
human can act on. Bad audio is the caller's fault and never retryable; a transient
engine failure may be.
"""

from __future__ import annotations

from asr.engines.base import EngineLoadError

__all__ = [
    "AsrError",
    "AudioFormatError",
    "EngineError",
    "EngineLoadError",
    "GarbageAudio",
    "OddByteCount",
    "TranscriberClosed",
    "UnknownEncoding",
    "UnsupportedChannels",
    "UnsupportedSampleRate",
]


class AsrError(Exception):
    """Base of every error raised by a streaming transcriber."""

    retryable: bool = False


class AudioFormatError(AsrError, ValueError):
    """Audio that cannot be decoded as declared. ``code`` is a stable machine-readable name."""

    code: str = "bad_audio"


class UnknownEncoding(AudioFormatError):
    """The declared encoding is not one of the supported ones."""

    code = "unknown_encoding"

    def __init__(self, encoding: object, supported: tuple[str, ...]) -> None:
        self.encoding = encoding
        super().__init__(
            f"unknown audio encoding {encoding!r}; supported encodings: {', '.join(supported)}"
        )


class UnsupportedSampleRate(AudioFormatError):
    """The declared sample rate is not one the resampler accepts."""

    code = "unsupported_sample_rate"

    def __init__(self, rate: object, supported: tuple[int, ...]) -> None:
        self.rate = rate
        super().__init__(
            f"unsupported sample rate {rate!r} Hz; supported rates: "
            + ", ".join(str(r) for r in supported)
        )


class UnsupportedChannels(AudioFormatError):
    """Only mono and interleaved stereo are understood."""

    code = "unsupported_channels"

    def __init__(self, channels: object) -> None:
        self.channels = channels
        super().__init__(f"unsupported channel count {channels!r}; use 1 (mono) or 2 (stereo)")


class OddByteCount(AudioFormatError):
    """The byte count is not a whole number of samples (or of sample frames)."""

    code = "odd_byte_count"

    def __init__(self, nbytes: int, block: int, encoding: str) -> None:
        self.nbytes = nbytes
        self.block = block
        super().__init__(
            f"{nbytes} bytes of {encoding} audio is not a whole number of {block}-byte "
            "sample frames; frames must not split a sample"
        )


class GarbageAudio(AudioFormatError):
    """Bytes that decode, but are clearly not audio (noise at full scale, a big DC offset).

    Usually the encoding was declared wrongly (mu-law sent as PCM16, or text sent as
    audio).
    """

    code = "garbage_audio"

    def __init__(self, reason: str, encoding: str) -> None:
        self.reason = reason
        super().__init__(
            f"input does not look like {encoding} speech audio ({reason}); "
            "check the declared encoding and sample rate"
        )


class EngineError(AsrError):
    """The engine raised while decoding one stream; other streams are unaffected."""

    code = "engine_error"
    retryable = True


class TranscriberClosed(AsrError):
    """Audio was pushed after ``end_input()`` or ``aclose()``."""

    code = "transcriber_closed"
