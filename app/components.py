"""The models a running service shares between calls, and factories for per-call stages.

``Components`` is what a ``CallSession`` needs: a transcriber per track, a window scorer for the
caller and a nudge engine. ``load_components`` builds the real ones (ASR engine, classifier,
phrase matcher) once per process; tests can pass their own factory to ``create_app``.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from asr.types import AudioFrame, Speaker, TranscriptFinal, TranscriptPartial
from models.clock import Clock
from models.signals import Signals
from nudges.events import NudgeEvent

if TYPE_CHECKING:  # the engine and playbook modules load the matcher; only their types here
    from nudges.engine import EngineInput
    from nudges.playbook import Playbook

log = logging.getLogger("carecue.components")


class Transcriber(Protocol):
    """One track's streaming transcriber (``asr.transcriber.StreamingTranscriber``)."""

    # Sync in ``StreamingTranscriber``; a test fake may be async (the session awaits either).
    def push(self, frame: AudioFrame) -> Awaitable[None] | None: ...

    def end_input(self) -> Awaitable[None] | None: ...

    def __aiter__(self) -> AsyncIterator[TranscriptPartial | TranscriptFinal]: ...

    async def aclose(self) -> None: ...


class Scorer(Protocol):
    """Rolling window classifier over the caller's finals (``models.scorer.WindowScorer``)."""

    def add_final(self, final: TranscriptFinal) -> Signals | None: ...


class NudgeEngineLike(Protocol):
    """``nudges.engine.NudgeEngine``: pure, no IO; may be slow-ish (semantic matching)."""

    def handle(self, event: EngineInput) -> list[NudgeEvent]: ...

    def end_call(self, at_s: float | None = None) -> list[NudgeEvent]: ...


@dataclass
class Components:
    """Shared models plus per-call factories."""

    make_transcriber: Callable[[Speaker], Transcriber]
    make_scorer: Callable[[Clock], Scorer] | None
    # (playbook, call clock, nudge id prefix) -> the call's engine
    make_engine: Callable[[Playbook, Clock, str], NudgeEngineLike]
    model_executor: Executor
    describe: dict[str, Any] = field(default_factory=dict)
    close: Callable[[], None] = lambda: None
    prepare_playbook: Callable[[Playbook], None] = lambda _playbook: None
    """Blocking: precompute what a playbook needs (example embeddings) before calls use it."""
    matcher: Any = None
    """The engines' shared ``PhraseMatcher`` (practice mode judges replies with it), or None."""
    asr_pressure: Callable[[], float] = lambda: 0.0
    """Seconds the oldest ASR job has waited for a thread (``AsrScheduler.pressure_s``)."""


async def maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class TimedEngine:
    """Wraps an ASR engine to measure the real-time factor of each utterance for /metrics."""

    def __init__(self, engine: Any, observe: Callable[[float, float], None]) -> None:
        self._engine = engine
        self._observe = observe
        self.name = engine.name
        self.native_partials = engine.native_partials

    def __getattr__(self, item: str) -> Any:
        return getattr(self._engine, item)

    def start_utterance(self) -> Any:
        return _TimedDecoder(self._engine.start_utterance(), self._observe)

    def transcribe(self, audio: Any) -> Any:
        t0 = time.perf_counter()
        out = self._engine.transcribe(audio)
        self._observe(time.perf_counter() - t0, len(audio) / 16_000)
        return out


class _TimedDecoder:
    def __init__(self, inner: Any, observe: Callable[[float, float], None]) -> None:
        self._inner = inner
        self._observe = observe
        self._busy = 0.0
        self._samples = 0

    def __getattr__(self, item: str) -> Any:
        return getattr(self._inner, item)

    def accept(self, audio: Any) -> str | None:
        t0 = time.perf_counter()
        try:
            return self._inner.accept(audio)
        finally:
            self._busy += time.perf_counter() - t0
            self._samples += len(audio)

    def partial(self) -> str:
        t0 = time.perf_counter()
        try:
            return self._inner.partial()
        finally:
            self._busy += time.perf_counter() - t0

    def prefetch_final(self) -> str:
        # Whisper decodes the final early, after a short silence; other engines have no such step.
        t0 = time.perf_counter()
        try:
            fn = getattr(self._inner, "prefetch_final", None)
            return str(fn()) if callable(fn) else self._inner.partial()
        finally:
            self._busy += time.perf_counter() - t0

    def finish(self) -> Any:
        t0 = time.perf_counter()
        try:
            return self._inner.finish()
        finally:
            self._busy += time.perf_counter() - t0
            self._observe(self._busy, self._samples / 16_000)


def _engine_pressure(engine: Any) -> float:
    """How long the oldest decode has waited inside the engine (batching whisper), else 0."""
    pressure = getattr(engine, "pressure_s", None)
    return float(pressure()) if callable(pressure) else 0.0


def transcriber_configs(settings: Any) -> dict[Speaker, Any]:
    """Per-track ``TranscriberConfig`` from the settings.

    The agent track decodes partials rarely (``asr_agent_partial_interval_s``, or never),
    never thins them and stops them at a shorter queueing wait than the caller's: with the
    caller-first scheduler this gives the degradation order of ``docs/service.md``.
    """
    from dataclasses import replace

    from asr.transcriber import TranscriberConfig

    caller = TranscriberConfig(
        max_queued_audio_s=settings.track_queue_frames * 0.02,
        partial_interval_s=settings.asr_partial_interval_s,
        endpoint_silence_s=settings.asr_endpoint_silence_s,
        # The early whisper decode must start before the endpoint (see TranscriberConfig).
        prefetch_after_silence_s=min(0.2, settings.asr_endpoint_silence_s / 2),
    )
    agent_every = settings.asr_agent_partial_interval_s
    agent = replace(
        caller,
        # Half the caller's queue: when both tracks fall behind, agent audio is dropped first
        # (a job order alone does not give that: a loaded event loop resubmits the caller's
        # next job late, and the agent's waiting one takes the thread).
        max_queued_audio_s=caller.max_queued_audio_s / 2,
        # "never" is a period longer than any utterance (max_utterance_s cuts them)
        partial_interval_s=agent_every if agent_every else 3600.0,
        partial_max_wait_s=caller.partial_max_wait_s * 0.4,
        partial_thin_factor=1.0,
    )
    return {"caller": caller, "agent": agent}


def load_components(settings: Any, metrics: Any) -> Components:
    """Load the real models (blocking, seconds to a minute): ASR engine, classifier, matcher."""
    from app.model_files import models_for, verify_models
    from asr.engines.registry import get_engine
    from asr.scheduler import AsrScheduler, lane_of
    from asr.transcriber import StreamingTranscriber

    # Before anything loads: a damaged or substituted shipped file stops start-up here, with a
    # message naming the file and the fix (app/model_files.py, docs/models.md).
    verify_models(models_for(settings))
    t0 = time.perf_counter()
    batch = settings.asr_batch_size if settings.asr_engine == "whisper" else 1
    # Batching: one thread runs every decode, with the machine's cores for its matrices.
    threads = settings.asr_threads
    if batch > 1:
        threads = max(threads, os.cpu_count() or 1)
    engine = get_engine(
        settings.asr_engine,
        whisper_model=settings.whisper_model,
        vosk_model_dir=settings.vosk_model_dir,
        moonshine_model_dir=settings.moonshine_model_dir,
        threads=threads,
        workers=settings.asr_workers,
        batch=batch,
    )

    def observe(busy_s: float, audio_s: float) -> None:
        metrics.asr_decode_seconds.inc(busy_s)
        if audio_s > 0.2:
            metrics.asr_rtf.observe(busy_s / audio_s)

    timed = TimedEngine(engine, observe)
    # One priority queue for every track's ASR jobs: caller before agent (asr/scheduler.py).
    # With batching, ASR threads mostly wait for the batch thread: enough of them that a full
    # batch can form.
    asr_scheduler = AsrScheduler(max(settings.asr_workers, batch), thread_name_prefix="asr")
    model_executor = ThreadPoolExecutor(settings.model_workers, thread_name_prefix="models")
    configs = transcriber_configs(settings)
    asr_s = time.perf_counter() - t0

    def make_transcriber(speaker: Speaker) -> Transcriber:
        return StreamingTranscriber(
            speaker, timed, asr_scheduler.lane(lane_of(speaker)), configs[speaker]
        )

    make_scorer: Callable[[Clock], Scorer] | None = None
    t1 = time.perf_counter()
    if settings.classifier_enabled:
        from models.classifier import load_classifier
        from models.scorer import WindowScorer

        classifier = load_classifier()

        def _make_scorer(clock: Clock) -> Scorer:
            return WindowScorer(classifier, clock, window_s=settings.window_s)

        make_scorer = _make_scorer
    clf_s = time.perf_counter() - t1

    from models.encoder import get_encoder
    from nudges.engine import NudgeEngine
    from nudges.matching import PhraseMatcher

    # One matcher for every call: example embeddings are computed once per playbook and
    # utterance embeddings are cached; the engine itself is pure and cheap per call.
    matcher = PhraseMatcher(get_encoder())

    def make_engine(playbook: Playbook, clock: Clock, id_prefix: str) -> NudgeEngineLike:
        return NudgeEngine(playbook, clock, matcher=matcher, id_prefix=id_prefix)

    def close() -> None:
        asr_scheduler.shutdown(wait=False, cancel_futures=True)
        model_executor.shutdown(wait=False, cancel_futures=True)

    log.info(
        "models loaded",
        extra={
            "asr_engine": settings.asr_engine,
            "asr_load_s": round(asr_s, 2),
            "classifier_load_s": round(clf_s, 2),
        },
    )
    return Components(
        make_transcriber=make_transcriber,
        make_scorer=make_scorer,
        make_engine=make_engine,
        model_executor=model_executor,
        describe={"asr_engine": settings.asr_engine, "classifier": settings.classifier_enabled},
        close=close,
        prepare_playbook=matcher.prepare,
        matcher=matcher,
        asr_pressure=lambda: max(asr_scheduler.pressure_s(), _engine_pressure(engine)),
    )
