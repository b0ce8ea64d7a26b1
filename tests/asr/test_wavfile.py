"""WAV files in the formats telephone recordings and audio editors produce."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asr import codecs
from asr.wavfile import WavFormatError, read_wav
from tests.asr.conftest import wav_bytes as _riff

TONE = (0.5 * np.sin(2 * np.pi * 440 * np.arange(800) / 8000)).astype(np.float32)
PCM = codecs.float_to_pcm16(TONE)


def test_mulaw_stereo_stays_mulaw(tmp_path: Path) -> None:
    left, right = codecs.mulaw_encode(PCM), codecs.mulaw_encode(-PCM)
    inter = bytes(b for pair in zip(left, right, strict=True) for b in pair)
    path = tmp_path / "call.wav"
    path.write_bytes(_riff(7, 2, 8000, 8, inter))
    wav = read_wav(path)
    assert (wav.encoding, wav.sample_rate, wav.channels) == ("mulaw", 8000, 2)
    assert codecs.split_channels(wav.data, "mulaw", 2) == (left, right)
    assert wav.duration_s == pytest.approx(0.1)


def test_alaw_mono(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(_riff(6, 1, 8000, 8, codecs.alaw_encode(PCM)))
    wav = read_wav(path)
    assert wav.encoding == "alaw" and wav.data == codecs.alaw_encode(PCM)


@pytest.mark.parametrize("extensible", [False, True])
def test_pcm_flavours_become_pcm16(tmp_path: Path, extensible: bool) -> None:
    x = PCM.astype(np.int32)
    variants = {
        (1, 16): PCM.astype("<i2").tobytes(),
        (1, 24): b"".join(int(v << 8).to_bytes(3, "little", signed=True) for v in x),
        (1, 32): (x << 16).astype("<i4").tobytes(),
        (1, 8): ((x >> 8) + 128).astype(np.uint8).tobytes(),
        (3, 32): TONE.astype("<f4").tobytes(),
    }
    for (tag, bits), data in variants.items():
        path = tmp_path / f"{tag}_{bits}.wav"
        path.write_bytes(_riff(tag, 1, 8000, bits, data, extensible))
        wav = read_wav(path)
        assert (wav.encoding, wav.sample_rate, wav.channels) == ("pcm_s16le", 8000, 1)
        got = np.frombuffer(wav.data, "<i2").astype(np.int32)
        tolerance = 256 if bits == 8 else 1
        assert np.max(np.abs(got - x)) <= tolerance, (tag, bits)


def test_files_that_are_not_wav_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("hello")
    with pytest.raises(WavFormatError, match="not a RIFF/WAVE"):
        read_wav(text)
    adpcm = tmp_path / "adpcm.wav"
    adpcm.write_bytes(_riff(2, 1, 8000, 4, b"\x00" * 100))
    with pytest.raises(WavFormatError, match="sox"):
        read_wav(adpcm)
