"""G.711, PCM16, channel splitting and resampling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asr import codecs
from asr.errors import OddByteCount, UnknownEncoding, UnsupportedSampleRate

int16s = st.integers(min_value=-32768, max_value=32767)
# No wall-clock deadline (CI machines are shared) and no example database in the checkout.
CODEC_SETTINGS = settings(deadline=None, database=None)


def _g711_max_error(x: np.ndarray) -> np.ndarray:
    # G.711 quantises each segment in steps of 1/16 of the segment's span, so the
    # reconstruction error is at most half a step: about |x|/32, plus a small floor for
    # the finest segment, plus clipping above the codec's largest level (32124 / 32256).
    return np.abs(x) / 32.0 + 16 + np.maximum(np.abs(x) - 32124, 0)


@CODEC_SETTINGS
@given(st.lists(int16s, min_size=1, max_size=400))
def test_mulaw_round_trip_within_quantisation_error(values: list[int]) -> None:
    x = np.array(values, dtype=np.int16)
    decoded = codecs.mulaw_decode(codecs.mulaw_encode(x)).astype(np.int64)
    err = np.abs(decoded - x.astype(np.int64))
    assert np.all(err <= _g711_max_error(x.astype(np.int64)))
    # and the sign survives (zero may decode to either side of zero by a few LSB)
    big = np.abs(x) > 64
    assert np.all(np.sign(decoded[big]) == np.sign(x[big]))


@CODEC_SETTINGS
@given(st.lists(int16s, min_size=1, max_size=400))
def test_alaw_round_trip_within_quantisation_error(values: list[int]) -> None:
    x = np.array(values, dtype=np.int16).astype(np.int64)
    decoded = codecs.alaw_decode(codecs.alaw_encode(x)).astype(np.int64)
    assert np.all(np.abs(decoded - x) <= np.abs(x) / 32.0 + 16 + np.maximum(np.abs(x) - 32256, 0))


def test_every_mulaw_code_survives_decode_then_encode() -> None:
    codes = np.arange(256, dtype=np.uint8)
    again = np.frombuffer(codecs.mulaw_encode(codecs.mulaw_decode(codes.tobytes())), np.uint8)
    # 0x7F is "negative zero"; it decodes to 0, which encodes as positive zero 0xFF.
    expected = codes.copy()
    expected[0x7F] = 0xFF
    assert np.array_equal(again, expected)


def test_every_alaw_code_survives_decode_then_encode() -> None:
    codes = np.arange(256, dtype=np.uint8)
    again = np.frombuffer(codecs.alaw_encode(codecs.alaw_decode(codes.tobytes())), np.uint8)
    assert np.array_equal(again, codes)


def test_g711_reference_values() -> None:
    # From ITU-T G.711 tables: silence codes and the extremes.
    assert codecs.mulaw_decode(bytes([0xFF, 0x7F, 0x80, 0x00])).tolist() == [0, 0, 32124, -32124]
    assert codecs.alaw_decode(bytes([0xD5, 0x55, 0xAA, 0x2A])).tolist() == [8, -8, 32256, -32256]
    assert codecs.mulaw_encode(np.array([0, 32767, -32768])) == bytes([0xFF, 0x80, 0x00])
    assert codecs.alaw_encode(np.array([0, 32767, -32768])) == bytes([0xD5, 0xAA, 0x2A])


def test_g711_matches_audioop_when_available() -> None:
    audioop = pytest.importorskip("audioop")  # removed in Python 3.13; a reference while here
    x = np.arange(-32768, 32768, dtype=np.int16)
    assert codecs.mulaw_encode(x) == audioop.lin2ulaw(x.tobytes(), 2)
    assert codecs.alaw_encode(x) == audioop.lin2alaw(x.tobytes(), 2)
    codes = bytes(range(256))
    assert codecs.mulaw_decode(codes).tobytes() == audioop.ulaw2lin(codes, 2)
    assert codecs.alaw_decode(codes).tobytes() == audioop.alaw2lin(codes, 2)


@CODEC_SETTINGS
@given(st.lists(int16s, min_size=0, max_size=200))
def test_pcm16_round_trip_is_exact(values: list[int]) -> None:
    x = np.array(values, dtype=np.int16)
    f = codecs.decode_to_float(x.astype("<i2").tobytes(), "pcm_s16le")
    assert f.dtype == np.float32
    assert np.all((f >= -1.0) & (f <= 1.0))
    assert codecs.encode_from_float(f, "pcm_s16le") == x.astype("<i2").tobytes()


@pytest.mark.parametrize("encoding", ["mulaw", "alaw", "pcm_s16le"])
def test_decode_to_float_of_a_tone(encoding: str) -> None:
    t = np.arange(800) / 8000
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    back = codecs.decode_to_float(codecs.encode_from_float(tone, encoding), encoding)
    assert len(back) == len(tone)
    assert float(np.max(np.abs(back - tone))) < 0.02


def test_stereo_deinterleave_and_split() -> None:
    left = np.arange(0, 100, dtype=np.int16)
    right = -np.arange(0, 100, dtype=np.int16)
    inter = np.stack([left, right], axis=1).reshape(-1)
    a, b = codecs.deinterleave(inter, 2)
    assert np.array_equal(a, left) and np.array_equal(b, right)
    pa, pb = codecs.split_channels(inter.astype("<i2").tobytes(), "pcm_s16le", 2)
    assert pa == left.astype("<i2").tobytes() and pb == right.astype("<i2").tobytes()
    ma, mb = codecs.split_channels(bytes([1, 2, 3, 4, 5, 6]), "mulaw", 2)
    assert (ma, mb) == (bytes([1, 3, 5]), bytes([2, 4, 6]))
    with pytest.raises(OddByteCount):
        codecs.split_channels(b"\x00\x01\x02", "pcm_s16le", 2)


def test_bad_declarations_raise_typed_errors() -> None:
    with pytest.raises(UnknownEncoding, match="opus"):
        codecs.decode_to_float(b"\x00\x00", "opus")
    with pytest.raises(OddByteCount, match="3 bytes"):
        codecs.decode_to_float(b"\x00\x00\x00", "pcm_s16le")
    with pytest.raises(UnsupportedSampleRate, match="12345"):
        codecs.StreamResampler(12345, 16000)


def _peak_hz(x: np.ndarray, rate: int) -> float:
    n = 1 << 18  # zero-padded FFT: bins of well under 1 Hz at these rates
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    return float(np.argmax(spectrum) * rate / n)


RATES = st.sampled_from([8000, 16000, 44100, 48000])


@settings(max_examples=40, deadline=None, database=None)
@given(
    in_rate=RATES,
    out_rate=RATES,
    freq=st.floats(min_value=100.0, max_value=3400.0),
    chunk=st.integers(min_value=1, max_value=2000),
)
def test_resampled_tone_keeps_its_frequency(
    in_rate: int, out_rate: int, freq: float, chunk: int
) -> None:
    t = np.arange(int(0.5 * in_rate)) / in_rate
    tone = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    one_shot = codecs.resample(tone, in_rate, out_rate)
    stream = codecs.StreamResampler(in_rate, out_rate)
    parts = [stream.process(tone[i : i + chunk]) for i in range(0, len(tone), chunk)]
    streamed = np.concatenate([*parts, stream.flush()])
    for out in (one_shot, streamed):
        assert abs(len(out) - len(tone) * out_rate / in_rate) <= 2
        assert abs(_peak_hz(out, out_rate) - freq) < 2.0
    # Same level and no time shift between the live path and the one-shot path: away from
    # the edges the two agree sample by sample.
    n = min(len(one_shot), len(streamed))
    edge = out_rate // 50
    assert np.allclose(one_shot[edge : n - edge], streamed[edge : n - edge], atol=0.03)


@pytest.mark.parametrize(("in_rate", "out_rate"), [(8000, 16000), (48000, 16000), (44100, 16000)])
def test_streaming_resampler_does_not_depend_on_chunking(in_rate: int, out_rate: int) -> None:
    x = np.random.default_rng(3).standard_normal(in_rate).astype(np.float32) * 0.1

    def run(chunk: int) -> np.ndarray:
        rs = codecs.StreamResampler(in_rate, out_rate)
        return np.concatenate(
            [rs.process(x[i : i + chunk]) for i in range(0, len(x), chunk)] + [rs.flush()]
        )

    whole = run(len(x))
    for chunk in (1, 160, 441, 960):
        assert np.allclose(run(chunk), whole, atol=1e-5)
    assert len(whole) == len(x) * out_rate // in_rate


def test_live_telephone_resampling_holds_back_almost_nothing() -> None:
    # 20 ms of 8 kHz in, (close to) 20 ms of 16 kHz out on every frame after the first:
    # the VAD must see the end of speech when it arrives, not 100 ms later.
    rs = codecs.StreamResampler(8000, 16000)
    outs = [len(rs.process(np.zeros(160, np.float32))) for _ in range(10)]
    assert outs[0] >= 320 - 40 and outs[1:] == [320] * 9


def test_garbage_reason_tells_noise_from_speechlike_audio() -> None:
    rng = np.random.default_rng(7)
    random_pcm = codecs.decode_to_float(rng.bytes(16000), "pcm_s16le")
    assert codecs.garbage_reason(random_pcm) is not None
    text = b'{"event": "media", "payload": "not audio"}' * 200
    assert "DC offset" in (codecs.garbage_reason(codecs.decode_to_float(text, "pcm_s16le")) or "")
    t = np.arange(8000) / 8000
    assert codecs.garbage_reason(0.9 * np.sin(2 * np.pi * 300 * t)) is None  # loud tone
    assert codecs.garbage_reason(0.05 * rng.standard_normal(8000)) is None  # line hiss
