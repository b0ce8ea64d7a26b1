"""The streaming transcriber fed like a phone line: 20 ms frames of 8 kHz mu-law.

The slow tests use the real whisper tiny.en engine on espeak-ng speech. The fast ones use
a scripted engine (still with the real Silero VAD) to pin down queueing, timing and error
behaviour that does not depend on recognition quality.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time

import numpy as np
import pytest

from asr import codecs
from asr.engines.base import ENGINE_RATE, EngineResult
from asr.errors import EngineError, TranscriberClosed
from asr.transcriber import StreamingTranscriber, TranscriberConfig
from asr.types import AudioFrame, TranscriptEvent, TranscriptFinal, TranscriptPartial
from tests.asr.conftest import (
    APPOINTMENT,
    MEDICATION,
    SICK,
    ScriptedEngine,
    Speak,
    silence,
    to_mulaw_frames,
    words_of,
)

RATE = ENGINE_RATE


def _frames(audio_16k: np.ndarray, track: str = "caller") -> list[AudioFrame]:
    return [AudioFrame(track, f, 8000, "mulaw") for f in to_mulaw_frames(audio_16k)]  # type: ignore[arg-type]


async def _run(tr: StreamingTranscriber, frames: list[AudioFrame]) -> list[TranscriptEvent]:
    async def feed() -> None:
        for frame in frames:
            await tr.send(frame)
        tr.end_input()

    feeder = asyncio.create_task(feed())
    events = [event async for event in tr]
    await feeder
    return events


def _finals(events: list[TranscriptEvent]) -> list[TranscriptFinal]:
    return [e for e in events if isinstance(e, TranscriptFinal)]


def _trimmed(x: np.ndarray) -> np.ndarray:
    loud = np.nonzero(np.abs(x) > 0.01)[0]
    return x[loud[0] : loud[-1] + 1]


def _has_most(text: str, keywords: set[str]) -> bool:
    return len(words_of(text) & keywords) >= len(keywords) - 1


# --- real whisper tiny.en -------------------------------------------------------------------


@pytest.mark.slow
async def test_two_utterances_split_by_silence(speak: Speak, tiny_en, executor) -> None:  # type: ignore[no-untyped-def]
    a, b = _trimmed(speak(SICK)), _trimmed(speak(APPOINTMENT))
    audio = np.concatenate([silence(0.8), a, silence(1.2), b, silence(1.0)])
    b_at = 0.8 + len(a) / RATE + 1.2
    async with StreamingTranscriber("caller", tiny_en, executor) as tr:
        before = time.monotonic()
        finals = _finals(await _run(tr, _frames(audio)))

    assert len(finals) == 2
    first, second = finals
    assert _has_most(first.text, {"feeling", "sick", "scared", "yesterday"})
    assert _has_most(second.text, {"appointment", "doctor", "monday", "change"})
    assert first.speaker == second.speaker == "caller"
    assert first.segment_id != second.segment_id
    assert abs(first.start_s - 0.8) < 0.25 and abs(first.end_s - (0.8 + len(a) / RATE)) < 0.25
    assert abs(second.start_s - b_at) < 0.25 and abs(second.end_s - (b_at + len(b) / RATE)) < 0.25
    for final in finals:
        assert final.words, "finals carry word timings"
        assert all(final.start_s <= w.start_s <= w.end_s <= final.end_s for w in final.words)
        starts = [w.start_s for w in final.words]
        assert starts == sorted(starts)
        assert final.speech_end_monotonic is not None and final.speech_end_monotonic >= before


@pytest.mark.slow
async def test_partials_about_every_second_then_a_final(speak: Speak, tiny_en, executor) -> None:  # type: ignore[no-untyped-def]
    speech = _trimmed(speak(APPOINTMENT))
    audio = np.concatenate([silence(0.5), speech, silence(1.0)])
    # A small input queue keeps each executor job short, so every partial gets delivered
    # instead of being superseded by the next one before the test reads it.
    config = TranscriberConfig(partial_max_backlog_s=None, max_queued_audio_s=0.2)
    async with StreamingTranscriber("agent", tiny_en, executor, config) as tr:
        events = await _run(tr, _frames(audio, "agent"))

    partials = [e for e in events if isinstance(e, TranscriptPartial)]
    finals = _finals(events)
    assert len(finals) == 1
    duration = len(speech) / RATE
    # one a second, plus one early final at each pause (espeak pauses inside sentences)
    assert 2 <= len(partials) <= duration / config.partial_interval_s + 4
    assert events.index(finals[0]) > events.index(partials[-1])
    assert {p.segment_id for p in partials} == {finals[0].segment_id}
    assert all(p.speaker == "agent" for p in partials)
    ends = [p.end_s for p in partials]
    assert ends == sorted(ends) and len(set(ends)) == len(ends)
    # the last partial already holds most of what the final says
    assert len(words_of(partials[-1].text) & words_of(finals[0].text)) >= 4
    assert _has_most(finals[0].text, {"appointment", "doctor", "monday", "change"})


@pytest.mark.slow
async def test_last_utterance_is_flushed_at_end_of_input(speak: Speak, tiny_en, executor) -> None:  # type: ignore[no-untyped-def]
    speech = _trimmed(speak(SICK))
    audio = np.concatenate([silence(0.5), speech])  # the line drops while they speak
    async with StreamingTranscriber("caller", tiny_en, executor) as tr:
        finals = _finals(await _run(tr, _frames(audio)))
    assert len(finals) == 1
    assert _has_most(finals[0].text, {"feeling", "sick", "scared", "yesterday"})
    assert abs(finals[0].end_s - len(audio) / RATE) < 0.15


@pytest.mark.slow
async def test_long_utterance_is_cut(speak: Speak, tiny_en, executor) -> None:  # type: ignore[no-untyped-def]
    speech = _trimmed(speak(MEDICATION))  # about 15 s without a long pause
    audio = np.concatenate([silence(0.5), speech, silence(1.0)])
    config = TranscriberConfig(max_utterance_s=5.0)
    async with StreamingTranscriber("caller", tiny_en, executor, config) as tr:
        finals = _finals(await _run(tr, _frames(audio)))
    assert len(finals) >= 3
    for f in finals:
        assert f.end_s - f.start_s <= 5.0 + 0.05
    for prev, nxt in zip(finals, finals[1:], strict=False):
        assert nxt.start_s >= prev.end_s - 1e-6
    text = " ".join(f.text for f in finals)
    assert len(words_of(text) & {"medication", "dizzy", "morning", "pharmacy", "clinic"}) >= 3
    assert len({f.segment_id for f in finals}) == len(finals)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("encoding", "rate"), [("pcm_s16le", 16000), ("pcm_s16le", 48000), ("alaw", 8000)]
)
async def test_other_encodings_and_rates(  # type: ignore[no-untyped-def]
    speak: Speak, tiny_en, executor, encoding: str, rate: int
) -> None:
    audio = np.concatenate([silence(0.5), speak(SICK, rate=rate)])
    data = codecs.encode_from_float(audio, encoding)
    width = codecs.BYTES_PER_SAMPLE[encoding]
    step = int(rate * 0.02) * width
    frames = [
        AudioFrame("caller", data[i : i + step], rate, encoding)  # type: ignore[arg-type]
        for i in range(0, len(data), step)
    ]
    async with StreamingTranscriber("caller", tiny_en, executor) as tr:
        finals = _finals(await _run(tr, frames))
    assert len(finals) == 1
    assert _has_most(finals[0].text, {"feeling", "sick", "scared", "yesterday"})


# --- scripted engines: queueing, timing, errors ------------------------------------------


async def test_native_partial_engine_is_fed_incrementally(speak: Speak, executor) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(native_partials=True)
    audio = np.concatenate([silence(0.5), _trimmed(speak(APPOINTMENT)), silence(1.0)])
    config = TranscriberConfig(max_queued_audio_s=0.1)
    async with StreamingTranscriber("caller", engine, executor, config) as tr:
        events = await _run(tr, _frames(audio))
    # audio reaches the engine in small pieces as it arrives, not as one utterance at the end
    # (the first piece also carries the pre-roll from before the VAD fired)
    assert len(engine.accepted) > 50
    assert engine.accepted[0] <= TranscriberConfig().pre_roll_s * RATE + 4 * 512
    assert max(engine.accepted[1:]) <= 2 * 512
    partials = [e.text for e in events if isinstance(e, TranscriptPartial)]
    assert partials[:2] == ["heard 0 seconds", "heard 1 seconds"]
    assert len(set(partials)) == len(partials)  # only changes are emitted
    assert len(_finals(events)) == 1


async def test_engine_failure_ends_only_that_stream(speak: Speak, executor) -> None:  # type: ignore[no-untyped-def]
    audio = np.concatenate([silence(0.3), _trimmed(speak(SICK)), silence(0.8)])
    broken = StreamingTranscriber("caller", ScriptedEngine(fail=True), executor)
    healthy = StreamingTranscriber("agent", ScriptedEngine(), executor)
    async with broken, healthy:
        outcome = await asyncio.gather(
            _run(broken, _frames(audio)), _run(healthy, _frames(audio, "agent")),
            return_exceptions=True,
        )
    assert isinstance(outcome[0], EngineError)
    assert "scripted engine failed" in str(outcome[0]) and outcome[0].retryable
    assert isinstance(outcome[1], list) and len(_finals(outcome[1])) == 1
    with pytest.raises(EngineError):
        broken.push(_frames(audio)[0])


async def test_overflowing_push_drops_oldest_audio_but_keeps_track_time(speak: Speak) -> None:
    speech = _trimmed(speak(SICK))
    audio = np.concatenate([silence(20.0), speech, silence(1.0)])
    frames = _frames(audio)
    # The queue keeps the newest 6 s: the speech and the silence after it survive.
    config = TranscriberConfig(max_queued_audio_s=6.0)
    # One worker thread that is blocked while everything is pushed: the queue must overflow.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        gate = executor.submit(time.sleep, 0.5)
        async with StreamingTranscriber("caller", ScriptedEngine(), executor, config) as tr:
            for frame in frames:
                tr.push(frame)  # never blocks
            assert tr.queued_audio_s <= 6.0 + 0.02
            tr.end_input()
            events = [e async for e in tr]
        gate.result()
    assert tr.dropped_audio_s > 15.0
    finals = _finals(events)
    assert len(finals) == 1
    assert abs(finals[0].start_s - 20.0) < 0.3  # times still match the caller's timeline


async def test_timestamp_gaps_advance_track_time(speak: Speak, executor) -> None:  # type: ignore[no-untyped-def]
    speech = _trimmed(speak(SICK))
    first = _frames(silence(1.0))
    later = _frames(np.concatenate([silence(0.3), speech, silence(1.0)]))
    frames = [
        AudioFrame("caller", f.data, 8000, "mulaw", timestamp_s=i * 0.02)
        for i, f in enumerate(first)
    ] + [
        AudioFrame("caller", f.data, 8000, "mulaw", timestamp_s=60.0 + i * 0.02)
        for i, f in enumerate(later)
    ]
    async with StreamingTranscriber("caller", ScriptedEngine(), executor) as tr:
        finals = _finals(await _run(tr, frames))
    assert len(finals) == 1
    assert abs(finals[0].start_s - 60.3) < 0.25


async def test_push_after_end_input_is_refused(executor) -> None:  # type: ignore[no-untyped-def]
    async with StreamingTranscriber("caller", ScriptedEngine(), executor) as tr:
        tr.push(AudioFrame("caller", b"\xff" * 160, 8000, "mulaw"))
        tr.end_input()
        with pytest.raises(TranscriberClosed):
            tr.push(AudioFrame("caller", b"\xff" * 160, 8000, "mulaw"))
        assert [e async for e in tr] == []


async def test_aclose_stops_a_stream_that_is_still_open(executor) -> None:  # type: ignore[no-untyped-def]
    tr = StreamingTranscriber("caller", ScriptedEngine(), executor)
    tr.push(AudioFrame("caller", b"\xff" * 160, 8000, "mulaw"))
    await tr.aclose()
    assert [e async for e in tr] == []
    with pytest.raises(TranscriberClosed):
        tr.push(AudioFrame("caller", b"\xff" * 160, 8000, "mulaw"))


class PrefetchingDecoder:
    """Records when the transcriber asks for an early final."""

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def accept(self, audio: np.ndarray) -> str | None:
        return None

    def partial(self) -> str:
        self.log.append("partial")
        return "partial text"

    def prefetch_final(self) -> str:
        self.log.append("prefetch")
        return "prefetched text"

    def finish(self) -> EngineResult:
        self.log.append("finish")
        return EngineResult("final text")


class PrefetchingEngine:
    name = "prefetching"
    native_partials = False

    def __init__(self) -> None:
        self.log: list[str] = []

    def start_utterance(self) -> PrefetchingDecoder:
        return PrefetchingDecoder(self.log)

    def transcribe(self, audio: np.ndarray) -> EngineResult:
        return EngineResult("final text")


async def test_final_is_prefetched_once_when_a_pause_begins(speak: Speak, executor) -> None:  # type: ignore[no-untyped-def]
    engine = PrefetchingEngine()
    speech = _trimmed(speak(SICK))
    audio = np.concatenate([silence(0.5), speech, silence(1.5), speech, silence(1.0)])
    config = TranscriberConfig(partial_max_backlog_s=None)
    async with StreamingTranscriber("caller", engine, executor, config) as tr:
        events = await _run(tr, _frames(audio))
    assert engine.log.count("finish") == 2
    # a prefetch when each pause begins (espeak pauses briefly inside the sentence too),
    # never twice for the same pause, and the last thing before each finish
    for utterance in "|".join(engine.log).split("finish")[:2]:
        steps = [s for s in utterance.split("|") if s]
        assert steps[-1] == "prefetch"
        assert "prefetch|prefetch" not in "|".join(steps)
    assert [e.text for e in _finals(events)] == ["final text", "final text"]


def test_periodic_partials_are_skipped_when_jobs_wait_for_the_executor(speak: Speak) -> None:
    from asr.transcriber import TrackPipeline

    audio = np.concatenate([silence(0.3), _trimmed(speak(MEDICATION)), silence(1.0)])
    items = [(frame, 0.0) for frame in _frames(audio)]

    def partial_calls(submitted_at: float | None) -> list[str]:
        engine = PrefetchingEngine()
        pipeline = TrackPipeline("caller", engine, TranscriberConfig())
        pipeline.process(items, True, submitted_at)
        pipeline.finish()
        return engine.log

    idle = partial_calls(time.monotonic())
    busy = partial_calls(time.monotonic() - 1.0)  # this job sat in the queue for a second
    assert idle.count("partial") >= 5
    assert busy.count("partial") == 0
    # finals (and the early final at each pause) are never skipped
    assert busy.count("finish") == idle.count("finish") >= 1
    assert busy.count("prefetch") == idle.count("prefetch")


async def test_contiguous_timestamps_add_nothing_and_short_gaps_become_silence(  # type: ignore[no-untyped-def]
    speak: Speak, executor
) -> None:
    rate = 44100  # a soxr-resampled rate, whose output lags its input
    speech = _trimmed(speak(SICK, rate=rate))
    first = np.concatenate([silence(0.5, rate), speech, silence(0.3, rate)])
    second = np.concatenate([speech, silence(1.0, rate)])
    step = int(rate * 0.02)
    frames: list[AudioFrame] = []
    t = 0.0
    for part, gap in ((first, 0.0), (second, 1.0)):  # 1 s of packets lost between them
        t += gap
        data = codecs.encode_from_float(part, "pcm_s16le")
        for i in range(0, len(part), step):
            chunk = data[2 * i : 2 * (i + step)]
            frames.append(AudioFrame("caller", chunk, rate, "pcm_s16le", timestamp_s=t))
            t += len(chunk) / 2 / rate
    async with StreamingTranscriber("caller", ScriptedEngine(), executor) as tr:
        finals = _finals(await _run(tr, frames))
    assert len(finals) == 2  # the lost second counts as a pause: two utterances
    assert abs(finals[0].start_s - 0.5) < 0.2
    second_at = len(first) / rate + 1.0
    assert abs(finals[1].start_s - second_at) < 0.2
