"""Reading and writing the WAV files the benchmark corpus and the demo call are stored as.

The standard library's ``wave`` handles 16-bit PCM only, so G.711 mu-law WAVs (format tag 7,
8 bits per sample) are written and parsed here. Mu-law coding itself comes from ``asr.codecs``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

from asr.codecs import mulaw_decode, mulaw_encode

WAVE_FORMAT_PCM = 1
WAVE_FORMAT_MULAW = 7
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


def _riff(fmt_chunk: bytes, data: bytes, extra_chunks: bytes = b"") -> bytes:
    pad = b"\x00" if len(data) % 2 else b""
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt_chunk))
        + fmt_chunk
        + extra_chunks
        + b"data"
        + struct.pack("<I", len(data))
        + data
        + pad
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _interleave(pcm: npt.NDArray[np.int16]) -> tuple[npt.NDArray[np.int16], int]:
    pcm = np.asarray(pcm, dtype=np.int16)
    if pcm.ndim == 1:
        return pcm, 1
    return np.ascontiguousarray(pcm).reshape(-1), pcm.shape[1]


def write_pcm16(path: Path, pcm: npt.NDArray[np.int16], rate: int) -> None:
    """Write int16 samples, ``(n,)`` mono or ``(n, channels)``, as a 16-bit PCM WAV."""
    flat, channels = _interleave(pcm)
    fmt = struct.pack(
        "<HHIIHH", WAVE_FORMAT_PCM, channels, rate, rate * channels * 2, channels * 2, 16
    )
    path.write_bytes(_riff(fmt, flat.astype("<i2").tobytes()))


def write_mulaw(path: Path, pcm: npt.NDArray[np.int16], rate: int) -> None:
    """Write int16 samples, mono or ``(n, channels)``, as a G.711 mu-law WAV (tag 7)."""
    flat, channels = _interleave(pcm)
    data = mulaw_encode(flat)
    # Non-PCM formats carry cbSize and a fact chunk with the frame count.
    fmt = struct.pack(
        "<HHIIHHH", WAVE_FORMAT_MULAW, channels, rate, rate * channels, channels, 8, 0
    )
    fact = b"fact" + struct.pack("<II", 4, len(flat) // channels)
    path.write_bytes(_riff(fmt, data, fact))


def read_wav(path: Path) -> tuple[npt.NDArray[np.int16], int, str, bytes]:
    """Read a PCM16 or mu-law WAV.

    Returns ``(int16 samples shaped (n, channels), rate, encoding, raw data bytes)`` where
    encoding is ``"pcm_s16le"`` or ``"mulaw"`` and the raw bytes are the undecoded payload.
    """
    raw = path.read_bytes()
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a RIFF/WAVE file")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    data: bytes | None = None
    while pos + 8 <= len(raw):
        cid = raw[pos : pos + 4]
        size = struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
        body = raw[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            tag, channels, rate = struct.unpack("<HHI", body[:8])
            bits = struct.unpack("<H", body[14:16])[0]
            if tag == _WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            data = body
        pos += 8 + size + (size & 1)
    if fmt is None or data is None:
        raise ValueError(f"{path}: WAV without fmt or data chunk")
    tag, channels, rate, bits = fmt
    if tag == WAVE_FORMAT_MULAW and bits == 8:
        samples = mulaw_decode(data[: len(data) - len(data) % channels])
        return samples.reshape(-1, channels), rate, "mulaw", data
    if tag == WAVE_FORMAT_PCM and bits == 16:
        usable = len(data) - len(data) % (2 * channels)
        samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.int16)
        return samples.reshape(-1, channels), rate, "pcm_s16le", data[:usable]
    raise ValueError(f"{path}: unsupported WAV format tag {tag} with {bits} bits")
