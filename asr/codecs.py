"""Audio codecs and resampling for telephone audio.

G.711 mu-law and A-law are decoded and encoded with lookup tables (numpy), not with
``audioop`` (removed in Python 3.13). Decoding produces float32 in [-1, 1]; engines and
the VAD want 16 kHz mono, which :class:`StreamResampler` produces from chunked input
with ``soxr`` while keeping the filter state across chunks, so 20 ms frames resample as
cleanly as a whole file.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import soxr

from asr.errors import (
    OddByteCount,
    UnknownEncoding,
    UnsupportedChannels,
    UnsupportedSampleRate,
)
from asr.types import ENCODINGS, Encoding

SUPPORTED_RATES: Final[tuple[int, ...]] = (
    8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 96000, 192000
)
"""Input sample rates the resampler accepts (telephony, wideband and studio rates)."""

BYTES_PER_SAMPLE: Final[dict[str, int]] = {"pcm_s16le": 2, "mulaw": 1, "alaw": 1}


# --- G.711 tables ---------------------------------------------------------------------------


def _mulaw_decode_table() -> np.ndarray:
    u = (~np.arange(256)) & 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _mulaw_encode_table() -> np.ndarray:
    # Index: the int16 sample reinterpreted as uint16 (so negative samples sit above 32767).
    # Follows the Sun/ITU reference coder on 14-bit samples, bit-exact with ``audioop``.
    x = np.arange(65536, dtype=np.int64)
    x = np.where(x >= 32768, x - 65536, x)
    pcm = x >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    pcm = np.minimum(np.abs(pcm), 8159) + 0x21
    seg_ends = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    seg = np.searchsorted(seg_ends, pcm, side="left")
    uval = (np.minimum(seg, 7) << 4) | ((pcm >> (seg + 1)) & 0x0F)
    uval = np.where(seg >= 8, 0x7F, uval)
    return ((uval ^ mask) & 0xFF).astype(np.uint8)


def _alaw_decode_table() -> np.ndarray:
    a = np.arange(256) ^ 0x55
    exponent = (a >> 4) & 0x07
    mantissa = (a & 0x0F) << 4
    magnitude = np.where(
        exponent == 0,
        mantissa + 8,
        (mantissa + 0x108) << np.maximum(exponent - 1, 0),
    )
    return np.where((a & 0x80) != 0, magnitude, -magnitude).astype(np.int16)


def _alaw_encode_table() -> np.ndarray:
    x = np.arange(65536, dtype=np.int64)
    x = np.where(x >= 32768, x - 65536, x)
    pcm = x >> 3  # A-law works on 13-bit samples
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    pcm = np.where(pcm >= 0, pcm, -pcm - 1)
    seg_ends = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    seg = np.searchsorted(seg_ends, pcm, side="left")
    shift = np.where(seg < 2, 1, seg)
    aval = (np.minimum(seg, 7) << 4) | ((pcm >> shift) & 0x0F)
    aval = np.where(seg >= 8, 0x7F, aval)
    return ((aval ^ mask) & 0xFF).astype(np.uint8)


_MULAW_DECODE: Final = _mulaw_decode_table()
_MULAW_ENCODE: Final = _mulaw_encode_table()
_ALAW_DECODE: Final = _alaw_decode_table()
_ALAW_ENCODE: Final = _alaw_encode_table()


def mulaw_decode(data: bytes) -> np.ndarray:
    """G.711 mu-law bytes to int16 samples."""
    return _MULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def alaw_decode(data: bytes) -> np.ndarray:
    """G.711 A-law bytes to int16 samples."""
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def mulaw_encode(samples: np.ndarray) -> bytes:
    """int16 samples to G.711 mu-law bytes."""
    return bytes(_MULAW_ENCODE[np.asarray(samples, dtype=np.int16).view(np.uint16)])


def alaw_encode(samples: np.ndarray) -> bytes:
    """int16 samples to G.711 A-law bytes."""
    return bytes(_ALAW_ENCODE[np.asarray(samples, dtype=np.int16).view(np.uint16)])


# --- PCM and floats -------------------------------------------------------------------------


def float_to_pcm16(x: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] to int16, clipping and rounding."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 32768.0), -32768, 32767).astype(
        np.int16
    )


def pcm16_to_float(samples: np.ndarray) -> np.ndarray:
    """int16 samples to float32 in [-1, 1)."""
    return (np.asarray(samples, dtype=np.int16).astype(np.float32)) / np.float32(32768.0)


def check_encoding(encoding: object) -> Encoding:
    """Return ``encoding`` if supported, else raise :class:`UnknownEncoding`."""
    if encoding not in ENCODINGS:
        raise UnknownEncoding(encoding, ENCODINGS)
    return encoding


def check_sample_rate(rate: object) -> int:
    """Return ``rate`` if the resampler supports it, else raise :class:`UnsupportedSampleRate`."""
    if isinstance(rate, bool) or not isinstance(rate, int) or rate not in SUPPORTED_RATES:
        raise UnsupportedSampleRate(rate, SUPPORTED_RATES)
    return rate


def check_byte_count(nbytes: int, encoding: str, channels: int = 1) -> None:
    """Raise :class:`OddByteCount` unless ``nbytes`` holds whole sample frames."""
    if channels not in (1, 2):
        raise UnsupportedChannels(channels)
    block = BYTES_PER_SAMPLE[check_encoding(encoding)] * channels
    if nbytes % block:
        raise OddByteCount(nbytes, block, encoding)


def decode_to_pcm16(data: bytes, encoding: str) -> np.ndarray:
    """Decode bytes in ``encoding`` to int16 samples (interleaved if the source was)."""
    enc = check_encoding(encoding)
    check_byte_count(len(data), enc)
    if enc == "pcm_s16le":
        return np.frombuffer(data, dtype="<i2").astype(np.int16)
    if enc == "mulaw":
        return mulaw_decode(data)
    return alaw_decode(data)


def decode_to_float(data: bytes, encoding: str) -> np.ndarray:
    """Decode bytes in ``encoding`` to float32 samples in [-1, 1].

    Raises :class:`UnknownEncoding` or :class:`OddByteCount` for input that cannot be
    decoded as declared.
    """
    return pcm16_to_float(decode_to_pcm16(data, encoding))


def encode_from_float(x: np.ndarray, encoding: str) -> bytes:
    """Encode float audio in [-1, 1] as ``encoding`` bytes (for tests, renderers, simulators)."""
    enc = check_encoding(encoding)
    pcm = float_to_pcm16(x)
    if enc == "pcm_s16le":
        return pcm.astype("<i2").tobytes()
    if enc == "mulaw":
        return mulaw_encode(pcm)
    return alaw_encode(pcm)


def deinterleave(samples: np.ndarray, channels: int) -> tuple[np.ndarray, ...]:
    """Split interleaved samples into one contiguous array per channel."""
    if channels not in (1, 2):
        raise UnsupportedChannels(channels)
    if channels == 1:
        return (np.asarray(samples),)
    if len(samples) % channels:
        raise OddByteCount(len(samples), channels, "interleaved samples")
    frames = np.asarray(samples).reshape(-1, channels)
    return tuple(np.ascontiguousarray(frames[:, c]) for c in range(channels))


def split_channels(data: bytes, encoding: str, channels: int) -> tuple[bytes, ...]:
    """Split interleaved bytes into per-channel bytes in the same encoding (no decoding)."""
    check_byte_count(len(data), encoding, channels)
    if channels == 1:
        return (data,)
    width = BYTES_PER_SAMPLE[encoding]
    frames = np.frombuffer(data, dtype=np.uint8).reshape(-1, channels, width)
    return tuple(frames[:, c, :].tobytes() for c in range(channels))


# --- resampling -----------------------------------------------------------------------------


def resample(x: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """One-shot resampling of a whole float32 signal (any positive rates)."""
    if in_rate <= 0 or out_rate <= 0:
        raise UnsupportedSampleRate(in_rate if in_rate <= 0 else out_rate, SUPPORTED_RATES)
    x = np.asarray(x, dtype=np.float32)
    if in_rate == out_rate:
        return x
    return np.asarray(soxr.resample(x, in_rate, out_rate, quality="HQ"), dtype=np.float32)


class _IntegerFir:
    """Streaming windowed-sinc polyphase FIR for integer ratios (up by L or down by M).

    Output is aligned with the input (the filter's group delay is removed) and nothing is
    held back beyond the filter's half-length (2 ms at 16 kHz), unlike soxr's stream mode,
    which releases output in blocks of about 100 ms: too much added latency for live
    endpointing on the 8 kHz telephone path.
    """

    _TAPS_PER_PHASE = 32

    def __init__(self, up: int, down: int) -> None:
        assert up == 1 or down == 1
        self.up, self.down = up, down
        factor = max(up, down)
        n = factor * self._TAPS_PER_PHASE - 1  # odd: linear phase with an integer delay
        cutoff = 0.5 / factor * 0.94  # cycles per sample at the high rate, below Nyquist
        k = np.arange(n) - (n - 1) / 2
        h = 2 * cutoff * np.sinc(2 * cutoff * k) * np.kaiser(n, 8.0)
        h *= up / h.sum()  # unity passband gain (zero-stuffing divides the level by L)
        self._delay = (n - 1) // 2  # in samples of the high rate
        if up > 1:
            h = np.append(h, 0.0)
            self._phases = [h[p::up].astype(np.float32) for p in range(up)]
            self._hist = np.zeros(self._TAPS_PER_PHASE - 1, dtype=np.float32)
        else:
            self._h = h.astype(np.float32)
            self._hist = np.zeros(n - 1, dtype=np.float32)
        self._in_count = 0  # input samples seen
        self._out_skip = self._delay  # high-rate samples of warm-up to drop (up only)
        self._next = self._delay  # next filtered input index to keep (down only)

    def process(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0, dtype=np.float32)
        ext = np.concatenate([self._hist, x])
        self._hist = ext[len(ext) - len(self._hist) :]
        first = self._in_count
        self._in_count += len(x)
        if self.up > 1:
            y = np.empty(len(x) * self.up, dtype=np.float32)
            for p, hp in enumerate(self._phases):
                y[p :: self.up] = np.convolve(ext, hp, mode="valid")
            if self._out_skip:
                drop = min(self._out_skip, len(y))
                self._out_skip -= drop
                y = y[drop:]
            return y
        filtered = np.convolve(ext, self._h, mode="valid")  # filtered[i] ~ input first + i
        start = self._next - first
        if start >= len(filtered):
            return np.zeros(0, dtype=np.float32)
        out = filtered[start :: self.down]
        self._next += len(out) * self.down
        return out.astype(np.float32, copy=False)

    def flush(self, produced: int) -> np.ndarray:
        """Push zeros through the filter and trim to the exact output length."""
        total = -(-self._in_count * self.up // self.down)
        tail = self.process(np.zeros(self._delay // self.up + self._TAPS_PER_PHASE, np.float32))
        return tail[: max(0, total - produced)]


class StreamResampler:
    """Stateful resampler for one continuous mono stream cut into chunks.

    Filter history is kept between calls, so chunk boundaries leave no clicks and the
    result does not depend on how the stream was chunked. Integer ratios (8 kHz up to
    16 kHz, 32, 48, 96 or 192 kHz down to 16 kHz) use a low-latency polyphase FIR; other ratios
    (11.025, 12, 22.05, 24, 44.1 kHz) use soxr's streaming resampler, which holds back about
    100 ms. :meth:`flush` releases what is still held at end of stream.
    """

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = check_sample_rate(in_rate)
        self.out_rate = out_rate
        self._produced = 0
        self._fir: _IntegerFir | None = None
        self._stream: soxr.ResampleStream | None = None
        if in_rate == out_rate:
            return
        if out_rate % in_rate == 0:
            self._fir = _IntegerFir(out_rate // in_rate, 1)
        elif in_rate % out_rate == 0:
            self._fir = _IntegerFir(1, in_rate // out_rate)
        else:
            self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality="HQ")

    def process(self, x: np.ndarray) -> np.ndarray:
        """Resample the next chunk; may return slightly fewer samples than the ratio says."""
        x = np.asarray(x, dtype=np.float32)
        if self._fir is not None:
            out = self._fir.process(x)
        elif self._stream is not None:
            out = np.asarray(self._stream.resample_chunk(x), dtype=np.float32)
        else:
            out = x
        self._produced += len(out)
        return out

    def flush(self) -> np.ndarray:
        """Release the samples still held in the filter; the stream is finished."""
        if self._fir is not None:
            out = self._fir.flush(self._produced)
            self._fir = None
            return out
        if self._stream is None:
            return np.zeros(0, dtype=np.float32)
        out = self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        self._stream = None
        return np.asarray(out, dtype=np.float32)


# --- garbage detection ------------------------------------------------------------------------


def garbage_reason(x: np.ndarray) -> str | None:
    """Why a window (>= 0.25 s) of float audio is clearly not speech audio, or None.

    Misdeclared encodings turn speech into noise near full scale with a flat spectrum
    (mu-law read as PCM16, or the reverse), and text sent as audio into a large DC
    offset. Real telephone speech, even loud or noisy, stays far from both.
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 256:
        return None
    mean = float(np.mean(x))
    if abs(mean) > 0.25:
        return f"DC offset {mean:+.2f} of full scale"
    rms = float(np.sqrt(np.mean((x - mean) ** 2)))
    if rms < 0.25:
        return None
    n = 512
    frames = x[: len(x) // n * n].reshape(-1, n) * np.hanning(n)
    power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)[1:] + 1e-12
    flatness = float(np.exp(np.mean(np.log(power))) / np.mean(power))
    if flatness > 0.3:
        return f"white noise at {20 * np.log10(rms):.1f} dBFS (spectral flatness {flatness:.2f})"
    return None
