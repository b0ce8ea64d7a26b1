"""One track's streaming transcriber: frames in, partial and final transcripts out.

Shape (as every streaming stage in CareCue)::

    async with StreamingTranscriber("caller", engine, executor) as tr:
        tr.push(frame)            # non-blocking; or ``await tr.send(frame)`` to wait for room
        ...
        tr.end_input()
        async for event in tr:    # TranscriptPartial | TranscriptFinal
            ...

Threads and timing: all CPU work for a track (decoding, resampling, VAD, engine calls)
runs as one job at a time in the given bounded executor, so a track's state is touched
by one thread at a time and the event loop never blocks. Many tracks share the engine
(its model is read-only) and the executor (which bounds the total CPU used).

Queues:
- input: at most ``max_queued_audio_s`` of audio waits. ``push`` on a full queue drops
  the oldest queued audio (live audio that old is useless; track time still advances)
  and counts it in ``dropped_audio_s`` and ``dropped_frames``; ``send`` waits for room
  instead. This is the track's only audio queue in the service (``app/session.py``
  pushes straight into it), so what it drops is what the call lost. ``lag_s`` is how
  long the oldest audio not yet processed has waited.
- output: a newer partial of a segment replaces an undelivered older one; finals are never
  dropped. When ``max_pending_events`` events wait for the consumer, processing pauses
  (and input then fills as above).

Errors: bad frames raise an :class:`~asr.errors.AudioFormatError` from ``push`` at once.
Problems found while processing (garbage audio, an engine exception) end this stream
only: iteration yields the events produced before it, then raises the error.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Final

import numpy as np

from asr import codecs
from asr.engines.base import ENGINE_RATE, AsrEngine, UtteranceDecoder
from asr.errors import AsrError, EngineError, GarbageAudio, TranscriberClosed
from asr.types import AudioFrame, Speaker, TranscriptEvent, TranscriptFinal, TranscriptPartial, Word
from asr.vad import WINDOW, Boundary, EndpointConfig, Endpointer, SileroVad, VadStream, get_vad

log = logging.getLogger(__name__)

_GARBAGE_WINDOW_S: Final = 0.5
_GARBAGE_WINDOWS_TO_FAIL: Final = 2  # one bad half second may be a glitch; a full second is not


@dataclass(frozen=True, slots=True)
class TranscriberConfig:
    """Per-track knobs (seconds are track time, not wall time).

    ``partial_max_backlog_s``: skip whisper-style partials while more than this much
    input waits, or while executor jobs wait longer than ``partial_max_wait_s`` to
    start, so a busy machine spends its CPU on finals; ``None`` never skips (nor thins).
    ``partial_thin_factor``: below that, partials thin out with load: a job that waited
    ``w`` seconds to start decodes partials every
    ``partial_interval_s * (1 + (partial_thin_factor - 1) * w / partial_max_wait_s)``
    (see :func:`partial_interval_factor`); 1 keeps the cadence until partials stop.
    ``prefetch_after_silence_s``: after this much silence, engines without native
    partials decode the utterance as if it had ended (see ``WhisperDecoder.prefetch_final``),
    so the final is ready soon after the endpoint; it must be below ``endpoint_silence_s``.
    ``cut_search_s``: in the last seconds before ``max_utterance_s``, a short pause
    already ends the utterance (see :class:`~asr.vad.EndpointConfig`).
    ``max_gap_fill_s``: when frame timestamps jump ahead (lost packets), up to this much
    silence is inserted so the VAD sees the pause; longer gaps only advance track time.
    """

    endpoint_silence_s: float = 0.5
    max_utterance_s: float = 15.0
    cut_search_s: float = 3.0
    partial_interval_s: float = 1.0
    prefetch_after_silence_s: float = 0.2
    pre_roll_s: float = 0.3
    min_speech_s: float = 0.09
    vad_threshold: float = 0.5
    vad_neg_threshold: float = 0.35
    max_queued_audio_s: float = 10.0
    max_pending_events: int = 64
    partial_max_backlog_s: float | None = 1.0
    partial_max_wait_s: float = 0.25
    partial_thin_factor: float = 4.0
    max_gap_fill_s: float = 2.0
    detect_garbage: bool = True

    def endpoint_config(self) -> EndpointConfig:
        """The VAD endpointing part of this configuration."""
        return EndpointConfig(
            threshold=self.vad_threshold,
            neg_threshold=self.vad_neg_threshold,
            min_speech_s=self.min_speech_s,
            end_silence_s=self.endpoint_silence_s,
            max_utterance_s=self.max_utterance_s,
            cut_search_s=self.cut_search_s,
        )


def partial_interval_factor(
    config: TranscriberConfig, waited_s: float, backlog_s: float
) -> float | None:
    """How many ``partial_interval_s`` apart periodic partials are, given how long this
    track's job waited for an ASR thread and how much audio waits; ``None``: none at all.

    This is the partial part of the degradation order (``docs/service.md``): with the
    service's configs, caller partials thin out first (any wait), agent partials stop
    next (their ``partial_max_wait_s`` is lower, and agent jobs wait behind caller jobs),
    then caller partials stop. The early final at a pause is never skipped.
    """
    if config.partial_max_backlog_s is None:
        return 1.0
    if backlog_s > config.partial_max_backlog_s or waited_s > config.partial_max_wait_s:
        return None
    if config.partial_thin_factor <= 1.0 or config.partial_max_wait_s <= 0:
        return 1.0
    load = max(0.0, waited_s) / config.partial_max_wait_s
    return 1.0 + (config.partial_thin_factor - 1.0) * load


@dataclass(slots=True)
class _Queued:
    frame: AudioFrame
    arrived: float  # time.monotonic() at push
    duration_s: float


@dataclass(slots=True)
class _Utterance:
    index: int
    segment_id: str
    vad_start: int  # 16 kHz sample where the VAD saw speech begin
    audio_start: int  # first sample handed to the decoder (includes pre-roll)
    decoder: UtteranceDecoder
    fed_until: int
    start_s: float  # track time of vad_start
    audio_start_s: float  # track time of audio_start (word times count from here)
    last_partial_at: int = 0
    last_partial: str = ""
    partial_sent: bool = False
    prefetched_at: int = -1  # speech end at which the final was prefetched


class TrackPipeline:
    """The synchronous core of one track: decode, resample, VAD, endpoint, engine calls.

    Not thread-safe; :class:`StreamingTranscriber` runs it in an executor one job at a
    time. Sample positions are 16 kHz samples since the start of the track.
    """

    def __init__(
        self,
        speaker: Speaker,
        engine: AsrEngine,
        config: TranscriberConfig,
        vad: SileroVad | None = None,
    ) -> None:
        self.speaker = speaker
        self.engine = engine
        self.config = config
        self._vad: VadStream = (vad or get_vad()).stream()
        self._endpointer = Endpointer(config.endpoint_config(), ENGINE_RATE)
        self._resampler: codecs.StreamResampler | None = None
        self._rate_key: int | None = None
        self._pos = 0  # samples scored by the VAD so far
        self._input_s = 0.0  # seconds of audio that went into the resampler so far
        self._offset_s = 0.0  # track time skipped without audio (dropped or big gaps)
        self._pre_roll = int(config.pre_roll_s * ENGINE_RATE)
        self._history: collections.deque[np.ndarray] = collections.deque()
        self._history_len = 0
        self._utt: _Utterance | None = None
        self._count = 0
        self._last_speech_arrival: float | None = None
        self._arrival = 0.0
        self._garbage_buf: list[np.ndarray] = []
        self._garbage_len = 0
        self._garbage_bad = 0
        self._native_partial: str | None = None
        self._speculate_after = int(config.prefetch_after_silence_s * ENGINE_RATE)
        self._partial_every = int(config.partial_interval_s * ENGINE_RATE)
        # Enough history for the pre-roll before a speech start, which the endpointer
        # reports only after ``min_speech_s`` of speech has been seen.
        self._history_keep = self._pre_roll + int(config.min_speech_s * ENGINE_RATE) + 2 * WINDOW

    # -- time -------------------------------------------------------------------------------

    def _t(self, sample: int) -> float:
        return sample / ENGINE_RATE + self._offset_s

    @property
    def track_time_s(self) -> float:
        """Track time of the next sample to arrive."""
        return self._input_s + self._offset_s

    def skip(self, seconds: float) -> None:
        """Advance track time over audio that will never arrive (dropped or lost)."""
        self._offset_s += seconds

    # -- input ------------------------------------------------------------------------------

    def process(
        self,
        items: list[tuple[AudioFrame, float]],
        allow_partials: bool = True,
        submitted_at: float | None = None,
        backlog_s: float = 0.0,
    ) -> list[TranscriptEvent]:
        """Consume frames (with their arrival times); returns the events they cause.

        ``allow_partials=False`` skips the periodic whisper-style partials (the early
        final at a pause still runs). A job that waited in the executor's queue since
        ``submitted_at`` decodes them less often, or not at all, per
        :func:`partial_interval_factor` (with ``backlog_s`` of audio that was waiting):
        the machine is busy, and finals of every call come before partials.
        """
        factor: float | None = 1.0
        if submitted_at is not None:
            waited = time.monotonic() - submitted_at
            # a batching engine queues decodes itself: its wait counts as this job's
            pressure = getattr(self.engine, "pressure_s", None)
            if callable(pressure):
                waited = max(waited, float(pressure()))
            factor = partial_interval_factor(self.config, waited, backlog_s)
        if factor is None:
            allow_partials = False
        else:
            self._partial_every = int(self.config.partial_interval_s * factor * ENGINE_RATE)
        events: list[TranscriptEvent] = []
        for frame, arrived in items:
            self._arrival = arrived
            if frame.timestamp_s is not None:
                self._align(frame.timestamp_s, events)
            x = codecs.decode_to_float(frame.data, frame.encoding)
            if self.config.detect_garbage:
                self._check_garbage(x, frame.sample_rate, frame.encoding)
            if self._rate_key != frame.sample_rate:
                if self._resampler is not None:
                    self._consume(self._resampler.flush(), events)
                self._resampler = codecs.StreamResampler(frame.sample_rate, ENGINE_RATE)
                self._rate_key = frame.sample_rate
            assert self._resampler is not None
            self._input_s += len(x) / frame.sample_rate
            self._consume(self._resampler.process(x), events)
            # Per frame, so that partials keep their cadence in track time even when a
            # backlog of frames is processed in one job.
            self._feed()
            self._maybe_partial(events, allow_partials)
        return events

    def finish(self) -> list[TranscriptEvent]:
        """End of input: flush the resampler and VAD, and finalise an open utterance."""
        events: list[TranscriptEvent] = []
        if self._resampler is not None:
            self._consume(self._resampler.flush(), events)
            self._resampler = None
        probs, audio = self._vad.flush()
        self._scored(probs, audio, events)
        for boundary in self._endpointer.flush():
            self._boundary(boundary, events)
        return events

    def _align(self, timestamp_s: float, events: list[TranscriptEvent]) -> None:
        gap = timestamp_s - self.track_time_s
        if gap <= 0.1:  # jitter, not a gap
            return
        fill = min(gap, self.config.max_gap_fill_s)
        if fill < gap:
            self.skip(gap - fill)
        # Silence goes in after whatever the resampler still holds, at 16 kHz directly.
        if self._resampler is not None:
            self._consume(self._resampler.flush(), events)
            self._resampler, self._rate_key = None, None
        self._input_s += fill
        self._consume(np.zeros(int(fill * ENGINE_RATE), dtype=np.float32), events)

    def _check_garbage(self, x: np.ndarray, rate: int, encoding: str) -> None:
        self._garbage_buf.append(x)
        self._garbage_len += len(x)
        need = int(_GARBAGE_WINDOW_S * rate)
        if self._garbage_len < need:
            return
        window = np.concatenate(self._garbage_buf)
        self._garbage_buf, self._garbage_len = [], 0
        reason = codecs.garbage_reason(window)
        if reason is None:
            self._garbage_bad = 0
            return
        self._garbage_bad += 1
        if self._garbage_bad >= _GARBAGE_WINDOWS_TO_FAIL:
            raise GarbageAudio(reason, encoding)

    def _consume(self, audio: np.ndarray, events: list[TranscriptEvent]) -> None:
        if len(audio) == 0:
            return
        probs, scored = self._vad.process(audio)
        self._scored(probs, scored, events)

    def _scored(self, probs: np.ndarray, audio: np.ndarray, events: list[TranscriptEvent]) -> None:
        for i, prob in enumerate(probs):
            window = audio[i * WINDOW : (i + 1) * WINDOW]
            start = self._pos
            self._pos += len(window)
            self._remember(window)
            if prob >= self.config.vad_neg_threshold:
                self._last_speech_arrival = self._arrival
            for boundary in self._endpointer.step(float(prob), start, start + WINDOW):
                self._boundary(boundary, events)

    def _remember(self, window: np.ndarray) -> None:
        # Recent audio: pre-roll for the next utterance and the open utterance's unfed audio.
        self._history.append(window)
        self._history_len += len(window)
        keep = self._history_keep
        if self._utt is not None:
            keep = max(keep, self._pos - self._utt.fed_until)
        while self._history and self._history_len - len(self._history[0]) >= keep:
            self._history_len -= len(self._history.popleft())

    def _audio_between(self, start: int, end: int) -> np.ndarray:
        if end <= start:
            return np.zeros(0, dtype=np.float32)
        first = self._pos - self._history_len
        start = max(start, first)
        buf = np.concatenate(list(self._history)) if self._history else np.zeros(0, np.float32)
        return buf[start - first : end - first]

    # -- utterances -------------------------------------------------------------------------

    def _boundary(self, boundary: Boundary, events: list[TranscriptEvent]) -> None:
        if boundary.kind == "start":
            self._open(boundary.sample, max(0, boundary.sample - self._pre_roll))
        elif boundary.kind == "end":
            self._close(boundary.sample, events)
        else:  # cut: close at the cut point and carry straight on in a new utterance
            self._close(boundary.sample, events, fed_end=boundary.sample)
            self._open(boundary.sample, boundary.sample)

    def _open(self, vad_start: int, audio_start: int) -> None:
        self._count += 1
        audio_start = max(audio_start, self._pos - self._history_len)
        self._utt = _Utterance(
            index=self._count,
            segment_id=f"{self.speaker}-{self._count}",
            vad_start=vad_start,
            audio_start=audio_start,
            decoder=self.engine.start_utterance(),
            fed_until=audio_start,
            start_s=round(self._t(vad_start), 3),
            audio_start_s=self._t(audio_start),
            last_partial_at=audio_start,
        )

    def _feed(self, until: int | None = None) -> None:
        utt = self._utt
        if utt is None:
            return
        end = self._pos if until is None else until
        audio = self._audio_between(utt.fed_until, end)
        utt.fed_until = max(utt.fed_until, end)
        if len(audio) == 0:
            return
        native = utt.decoder.accept(audio)
        if native is not None and self.engine.native_partials:
            self._native_partial = native

    def _maybe_partial(self, events: list[TranscriptEvent], periodic: bool) -> None:
        utt = self._utt
        if utt is None:
            return
        if self.engine.native_partials:
            text, self._native_partial = self._native_partial, None
        else:
            text = self._whisper_style_partial(utt, periodic)
        if text is None:
            return
        text = text.strip()
        if not text or text == utt.last_partial:
            return
        utt.last_partial = text
        utt.partial_sent = True
        events.append(
            TranscriptPartial(
                speaker=self.speaker,
                text=text,
                segment_id=utt.segment_id,
                start_s=utt.start_s,
                end_s=round(self._t(utt.fed_until), 3),
            )
        )

    def _whisper_style_partial(self, utt: _Utterance, periodic: bool) -> str | None:
        # Decoding costs the same however little audio was added, so partials are spent
        # where they help: every ``partial_interval_s`` while the person is speaking, and
        # once when a pause starts. The second one is the likely final; a decoder with
        # ``prefetch_final`` decodes it as such, so the final is ready (or nearly) when
        # the endpoint silence has passed instead of starting only then.
        silent = self._pos - self._endpointer.last_speech_end
        if silent >= self._speculate_after:
            if utt.prefetched_at == self._endpointer.last_speech_end:
                return None
            utt.prefetched_at = self._endpointer.last_speech_end
            utt.last_partial_at = utt.fed_until
            prefetch = getattr(utt.decoder, "prefetch_final", None)
            return str(prefetch()) if callable(prefetch) else utt.decoder.partial()
        every = self._partial_every
        if not periodic or utt.fed_until - utt.last_partial_at < every:
            return None
        if silent >= 2 * WINDOW:
            # A pause has begun: the prefetch a few windows later decodes the same audio
            # better, so this partial would be paid twice for nothing.
            return None
        utt.last_partial_at = utt.fed_until
        return utt.decoder.partial()

    def _close(
        self, speech_end: int, events: list[TranscriptEvent], fed_end: int | None = None
    ) -> None:
        utt = self._utt
        if utt is None:
            return
        self._feed(fed_end)
        self._utt = None
        self._native_partial = None
        result = utt.decoder.finish()
        text = result.text.strip()
        if not text and not utt.partial_sent:
            return  # VAD fired on a noise the engine found no words in
        base = utt.audio_start_s
        start_s = utt.start_s
        end_s = max(start_s, round(self._t(speech_end), 3))

        def clamp(t: float) -> float:
            # Engine word times are approximate (whisper's especially); keep them inside
            # the utterance so consumers can rely on start_s <= word <= end_s.
            return round(min(max(base + t, start_s), end_s), 3)

        words = tuple(
            Word(w.text, clamp(w.start_s), clamp(w.end_s), w.confidence) for w in result.words
        )
        events.append(
            TranscriptFinal(
                speaker=self.speaker,
                text=text,
                start_s=start_s,
                end_s=end_s,
                words=words,
                segment_id=utt.segment_id,
                speech_end_monotonic=self._last_speech_arrival,
            )
        )
        log.debug(
            "final %s: %.2fs of speech, %d words", utt.segment_id,
            (speech_end - utt.vad_start) / ENGINE_RATE, len(words),
        )


class StreamingTranscriber:
    """Streaming ASR for one track (caller or agent); see the module docstring.

    ``speech_end_monotonic`` on each final is the ``time.monotonic()`` at which the frame
    holding the utterance's last speech was pushed, so ``emitted - speech_end_monotonic``
    is the user-visible latency from end of speech to final (endpoint wait included).
    """

    def __init__(
        self,
        speaker: Speaker,
        engine: AsrEngine,
        executor: concurrent.futures.Executor,
        config: TranscriberConfig | None = None,
        *,
        vad: SileroVad | None = None,
    ) -> None:
        self.speaker = speaker
        self.engine = engine
        self.config = config or TranscriberConfig()
        self._executor = executor
        self._vad = vad
        self._pipeline: TrackPipeline | None = None
        self._inbox: collections.deque[_Queued] = collections.deque()
        self._queued_s = 0.0
        self._outbox: collections.deque[TranscriptEvent] = collections.deque()
        self._input_ended = False
        self._closed = False
        self._done = False
        self._error: AsrError | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake_worker: asyncio.Event | None = None
        self._wake_reader: asyncio.Event | None = None
        self._room: asyncio.Event | None = None
        self._pending_skip = 0.0
        self._inflight_since: float | None = None  # arrival of the oldest frame being processed
        self.dropped_audio_s = 0.0
        self.dropped_frames = 0
        self.frames_in = 0

    # -- input side -------------------------------------------------------------------------

    def _validate(self, frame: AudioFrame) -> float:
        codecs.check_encoding(frame.encoding)
        rate = codecs.check_sample_rate(frame.sample_rate)
        codecs.check_byte_count(len(frame.data), frame.encoding)
        return len(frame.data) / codecs.BYTES_PER_SAMPLE[frame.encoding] / rate

    def push(self, frame: AudioFrame) -> None:
        """Queue one frame without waiting. Must be called from the event loop's thread.

        Raises an ``AudioFormatError`` for a frame that cannot be decoded as declared,
        ``TranscriberClosed`` after ``end_input``/``aclose``, or this stream's error if it
        has already failed.
        """
        if self._error is not None:
            raise self._error
        if self._input_ended or self._closed:
            raise TranscriberClosed(f"{self.speaker} transcriber no longer accepts audio")
        duration = self._validate(frame)
        self._ensure_started()
        self._inbox.append(_Queued(frame, time.monotonic(), duration))
        self._queued_s += duration
        self.frames_in += 1
        while self._queued_s > self.config.max_queued_audio_s and len(self._inbox) > 1:
            old = self._inbox.popleft()
            self._queued_s -= old.duration_s
            self.dropped_audio_s += old.duration_s
            self.dropped_frames += 1
            self._pending_skip += old.duration_s
        self._signal(self._wake_worker)

    async def send(self, frame: AudioFrame) -> None:
        """Like :meth:`push`, but waits while the input queue is full instead of dropping."""
        duration = self._validate(frame)
        self._ensure_started()
        assert self._room is not None
        while (
            self._inbox
            and self._queued_s + duration > self.config.max_queued_audio_s
            and self._error is None
            and not self._closed
        ):
            self._room.clear()
            await self._room.wait()
        self.push(frame)

    def end_input(self) -> None:
        """No more audio: the last utterance is flushed and iteration then ends."""
        if self._input_ended:
            return
        self._input_ended = True
        self._ensure_started()
        self._signal(self._wake_worker)

    @property
    def executor(self) -> concurrent.futures.Executor:
        """The executor this transcriber's :class:`TrackPipeline` runs in (the shared ASR
        threads); a caller driving its own pipeline in lock-step uses the same bound."""
        return self._executor

    @property
    def queued_audio_s(self) -> float:
        """Seconds of audio waiting to be processed."""
        return self._queued_s

    @property
    def lag_s(self) -> float:
        """How long the oldest audio not yet processed has waited (0 when caught up): the
        ASR lag of this track, in wall seconds. Event loop thread only."""
        since = self._inflight_since
        if since is None and self._inbox:
            since = self._inbox[0].arrived
        return 0.0 if since is None else max(0.0, time.monotonic() - since)

    # -- output side ------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[TranscriptEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[TranscriptEvent]:
        self._ensure_started()
        assert self._wake_reader is not None
        while True:
            if self._outbox:
                event = self._outbox.popleft()
                self._signal(self._wake_worker)
                yield event
                continue
            if self._error is not None:
                raise self._error
            if self._done or self._closed:
                return
            self._wake_reader.clear()
            await self._wake_reader.wait()

    async def aclose(self) -> None:
        """Stop at once: queued audio and undelivered events are discarded."""
        self._closed = True
        self._inbox.clear()
        self._queued_s = 0.0
        for event in (self._wake_worker, self._wake_reader, self._room):
            self._signal(event)
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def __aenter__(self) -> StreamingTranscriber:
        self._ensure_started()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- worker -----------------------------------------------------------------------------

    @staticmethod
    def _signal(event: asyncio.Event | None) -> None:
        if event is not None:
            event.set()

    def _ensure_started(self) -> None:
        if self._task is not None or self._closed:
            return
        self._wake_worker = asyncio.Event()
        self._wake_reader = asyncio.Event()
        self._room = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"transcriber-{self.speaker}"
        )

    def _deliver(self, events: list[TranscriptEvent]) -> None:
        for event in events:
            last = self._outbox[-1] if self._outbox else None
            if (
                isinstance(event, TranscriptPartial)
                and isinstance(last, TranscriptPartial)
                and last.segment_id == event.segment_id
            ):
                self._outbox[-1] = event  # the newer hypothesis supersedes the undelivered one
            else:
                self._outbox.append(event)
        if events:
            self._signal(self._wake_reader)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wake_worker is not None and self._room is not None
        try:
            if self._pipeline is None:
                self._pipeline = await loop.run_in_executor(
                    self._executor, TrackPipeline, self.speaker, self.engine, self.config,
                    self._vad,
                )
            pipeline = self._pipeline
            while not self._closed:
                if len(self._outbox) >= self.config.max_pending_events or (
                    not self._inbox and not self._input_ended
                ):
                    self._wake_worker.clear()
                    await self._wake_worker.wait()
                    continue
                if self._inbox:
                    batch = list(self._inbox)
                    self._inbox.clear()
                    backlog = self._queued_s
                    self._queued_s = 0.0
                    self._signal(self._room)
                    skip, self._pending_skip = self._pending_skip, 0.0
                    if skip:
                        pipeline.skip(skip)
                    limit = self.config.partial_max_backlog_s
                    self._inflight_since = batch[0].arrived
                    try:
                        events = await loop.run_in_executor(
                            self._executor,
                            pipeline.process,
                            [(q.frame, q.arrived) for q in batch],
                            True,
                            time.monotonic() if limit is not None else None,
                            backlog,
                        )
                    finally:
                        self._inflight_since = None
                    self._deliver(events)
                    continue
                # Input ended and everything queued is processed.
                events = await loop.run_in_executor(self._executor, pipeline.finish)
                self._deliver(events)
                break
        except asyncio.CancelledError:
            raise
        except AsrError as exc:
            log.warning("%s transcriber failed: %s", self.speaker, type(exc).__name__)
            self._error = exc
        except Exception as exc:  # an engine bug must not take other calls down
            log.exception("%s transcriber engine error", self.speaker)
            err = EngineError(f"{self.engine.name} engine failed: {type(exc).__name__}: {exc}")
            err.__cause__ = exc
            self._error = err
        finally:
            self._done = True
            self._signal(self._wake_reader)
            self._signal(self._room)
