"""Reading WAV files as the transcriber consumes them.

The standard library's ``wave`` reads integer PCM only; telephone recordings are often
G.711 (format tags 6 and 7), and editors write 24-bit or float WAVs. G.711 data is kept
as it is, so a recorded call streams through exactly the codec path of a live one;
every other PCM flavour is converted to 16-bit.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asr import codecs
from asr.errors import AudioFormatError
from asr.types import Encoding

_PCM, _FLOAT, _ALAW, _MULAW, _EXTENSIBLE = 1, 3, 6, 7, 0xFFFE


class WavFormatError(AudioFormatError):
    """The file is not a WAV this reader understands."""

    code = "bad_wav"


@dataclass(frozen=True, slots=True)
class WavAudio:
    """Interleaved sample data in one of the transcriber's encodings."""

    encoding: Encoding
    sample_rate: int
    channels: int
    data: bytes

    @property
    def duration_s(self) -> float:
        """Length of the recording in seconds."""
        width = codecs.BYTES_PER_SAMPLE[self.encoding] * self.channels
        return len(self.data) / width / self.sample_rate


def parse_wav(raw: bytes, name: object) -> tuple[int, int, int, int, bytes]:
    """(format tag, channels, rate, bits, data) of a RIFF/WAVE file's bytes, no conversion.

    ``WAVE_FORMAT_EXTENSIBLE`` is resolved to its sub-format's tag; ``name`` is for messages.
    """
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise WavFormatError(f"{name} is not a RIFF/WAVE file")
    fmt: tuple[int, int, int, int] | None = None
    data: bytes | None = None
    pos = 12
    while pos + 8 <= len(raw):
        chunk, size = raw[pos : pos + 4], struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
        body = raw[pos + 8 : pos + 8 + size]
        if chunk == b"fmt ":
            if len(body) < 16:
                raise WavFormatError(f"{name}: fmt chunk too short")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]  # first two bytes of SubFormat
            fmt = (tag, channels, rate, bits)
        elif chunk == b"data":
            data = body  # a truncated final chunk is read as far as it goes
        pos += 8 + size + (size & 1)
    if fmt is None or data is None:
        raise WavFormatError(f"{name}: no fmt or data chunk")
    return (*fmt, data)


def read_wav(path: Path) -> WavAudio:
    """Read a PCM (8/16/24/32-bit int, 32/64-bit float), A-law or mu-law WAV file."""
    tag, channels, rate, bits, data = parse_wav(Path(path).read_bytes(), path)
    if channels < 1:
        raise WavFormatError(f"{path}: {channels} channels")
    if tag in (_MULAW, _ALAW) and bits == 8:
        encoding: Encoding = "mulaw" if tag == _MULAW else "alaw"
        data = data[: len(data) // channels * channels]
        return WavAudio(encoding, rate, channels, data)
    width = bits // 8
    if tag not in (_PCM, _FLOAT) or bits % 8 or width not in (1, 2, 3, 4, 8):
        raise WavFormatError(
            f"{path}: unsupported WAV format (tag {tag}, {bits} bits); convert it with "
            f"sox {path} -b 16 -e signed-integer out.wav"
        )
    data = data[: len(data) // (width * channels) * (width * channels)]
    pcm = _to_pcm16(data, tag, width)
    return WavAudio("pcm_s16le", rate, channels, pcm.astype("<i2").tobytes())


def _to_pcm16(data: bytes, tag: int, width: int) -> np.ndarray:
    if tag == _FLOAT:
        if width not in (4, 8):
            raise WavFormatError(f"{8 * width}-bit float WAV")
        x = np.frombuffer(data, dtype="<f4" if width == 4 else "<f8")
        return codecs.float_to_pcm16(np.nan_to_num(x))
    if width == 1:  # 8-bit WAV is unsigned
        return ((np.frombuffer(data, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if width == 2:
        return np.frombuffer(data, dtype="<i2").astype(np.int16)
    if width == 3:
        b = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
        return (b[:, 2].astype(np.int8).astype(np.int16) << 8 | b[:, 1]).astype(np.int16)
    return (np.frombuffer(data, dtype="<i4" if width == 4 else "<i8") >> (8 * width - 16)).astype(
        np.int16
    )
