"""``CallSession``: everything about one live call.

Per track a bounded audio queue feeds a ``StreamingTranscriber``; its partials and finals are
published as they come. Finals (and the agent's feedback, and periodic ticks) go through one
"brain" task per call, which runs the window scorer and the nudge engine in the shared model
executor, one event at a time, so the engine needs no locks and sees events in order.

Audio queue policy: each track has ONE audio queue, the transcriber's input (``push`` hands a
frame straight to it; ``track_queue_frames`` 20 ms frames of audio, 10 s by default, for the
caller and half that for the agent, so the agent's overflows first). When ASR
falls behind and it is full, the OLDEST audio is dropped: recent speech matters more for a live
nudge than audio from seconds ago, and ingest must never block the platform's socket. Every
dropped second is counted per track (``carecue_audio_dropped_seconds_total`` and
``carecue_audio_frames_dropped_total``) and told to the agent and the supervisor as
``call.degraded`` (reason ``audio_dropped``, with the seconds). The brain queue holds finals and
feedback, which are never dropped; ticks are coalesced (at most one waiting).

Overload is never silent: once a tick (``tick_interval_s``) the session reads each track's
dropped audio and ASR lag. New drops, or a lag above ``degraded_lag_s``, publish
``call.degraded`` (reason ``audio_dropped`` or ``asr_lag``, with the numbers per track; again
whenever more audio is dropped); after ``recover_ticks`` ticks with no new drops and the lag
below half the threshold, ``call.recovered``. What degrades first is ordered (``docs/service.md``,
"Overload"): caller partials thin out, agent partials stop, caller partials stop, agent finals
are delayed (agent ASR jobs wait behind caller ones), agent audio is dropped, and only then
caller audio; a caller final is never lost without a ``call.degraded`` naming the caller track.

Time: the scorer and the nudge engine run on one time base, the call clock (seconds since the
call opened). Transcripts arrive in track time (seconds of that track's audio); each is moved
onto the call clock here, by the offset between the two that the track's last final measured
(``speech_end_monotonic``: when its speech end was pushed) or, before the first final, that the
track's first frame gave. So an ASR backlog, dropped audio or a track that joined late does not
put a final's times seconds away from the ticks and signals it is compared with; published
transcript times are call-clock times too.

A failure inside a stage never ends other calls. It is published as ``call.error`` (``stage``,
``track``, ``code``, ``retryable``, ``retrying``) so that the agent and the supervisor know a
transcript is missing; a retryable ASR failure (``asr.errors``: an engine error) starts a fresh
transcriber for that track, up to ``MAX_ASR_RESTARTS`` times. Audio the platform sends that
cannot be decoded as declared ends the ingest stream: the next ``push`` raises an
``IngestError`` with the ASR error's code (close 1007). ``end`` flushes the last utterances,
waits (``end_store_wait_s`` at most) until the store has written them, then emits ``call.ended``:
whoever sees it can read the whole call from the shared database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from app.bus import BusMessage, EventBus, iso
from app.components import Components, NudgeEngineLike, Scorer, Transcriber, maybe_await
from app.contract import (
    CallEndedData,
    CallErrorData,
    CallStartedData,
    EscalationData,
    EventData,
    NudgeCreatedData,
    NudgeResolvedData,
    SignalsData,
    TranscriptData,
    event_data,
)
from app.ingest.base import CallMeta, IngestError
from app.metrics import Metrics
from app.store import DURABLE_TYPES, EnvelopeOp, FeedbackOp, Store
from asr.errors import AsrError, AudioFormatError
from asr.types import AudioFrame, Speaker, TranscriptFinal, TranscriptPartial
from nudges.events import Escalation, Feedback, NudgeCreated, NudgeEvent, NudgeResolved, Tick

if TYPE_CHECKING:
    from nudges.playbook import Playbook

log = logging.getLogger("carecue.session")

_BYTES_PER_SAMPLE = {"pcm_s16le": 2, "mulaw": 1, "alaw": 1}
_END_SENTINEL: Any = object()
_PARTIALS_WHEN_BELOW = 8
MAX_ASR_RESTARTS = 3
_INTERNAL = "internal_error"


class UnknownNudge(LookupError):
    """No such nudge on the calls the requester may touch."""


class CallClock:
    """Seconds since the call started (monotonic): the clock of the scorer and the engine."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def at_monotonic(self, monotonic_s: float) -> float:
        """The call-clock time of a ``time.monotonic()`` reading."""
        return monotonic_s - self._t0

    def wall(self, at_s: float) -> datetime:
        """Wall-clock time of a call-clock instant."""
        return datetime.now(UTC) + timedelta(seconds=at_s - self.now())


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Per-call knobs, frozen from the settings when the call opens."""

    track_queue_frames: int = 500
    tick_interval_s: float = 1.0
    end_timeout_s: float = 60.0
    end_store_wait_s: float = 5.0
    degraded_lag_s: float = 2.0
    recover_ticks: int = 3


@dataclass(slots=True)
class _TrackHealth:
    """What the overload monitor last read from one track's transcriber."""

    dropped_s: float = 0.0  # total dropped on this track (across transcriber restarts)
    dropped_frames: int = 0
    seen_s: float = 0.0  # the current transcriber's dropped_audio_s at the last read
    seen_frames: int = 0
    lag_s: float = 0.0


@dataclass(frozen=True, slots=True)
class _FeedbackIn:
    nudge_id: str
    action: str
    agent_id: str


class CallSession:
    """One call: transcribers, scorer, nudge engine, publishing. Implements ``CallHandle``."""

    def __init__(
        self,
        meta: CallMeta,
        *,
        components: Components,
        playbook: Playbook,
        playbook_version: int | None,
        bus: EventBus,
        store: Store,
        metrics: Metrics,
        config: SessionConfig,
        on_finished: Callable[[CallSession], None] | None = None,
        on_nudge: Callable[[str, CallSession], None] | None = None,
    ) -> None:
        self.meta = meta
        self.call_id = meta.call_id
        self.agent_id = meta.agent_id
        self.clock = CallClock()
        self.started_at = datetime.now(UTC)
        self._components = components
        self._playbook_version = playbook_version
        self._bus = bus
        self._store = store
        self._metrics = metrics
        self._config = config
        self._on_finished = on_finished
        self._on_nudge = on_nudge
        # The engine numbers nudges under the call id, so its ids are the wire ids: unique
        # across calls and instances, with nothing to translate back and forth.
        self._engine: NudgeEngineLike = components.make_engine(
            playbook, self.clock, f"{self.call_id}:n"
        )
        self._scorer: Scorer | None = (
            components.make_scorer(self.clock) if components.make_scorer else None
        )
        self._transcribers: dict[Speaker, Transcriber] = {}
        self._health: dict[Speaker, _TrackHealth] = {}
        self._degraded_since: float | None = None
        self._degraded_reported_s = 0.0  # dropped seconds told in the last call.degraded
        self._calm_ticks = 0
        self._brain_q: asyncio.Queue[Any] = asyncio.Queue(10_000)
        self._tick_pending = False
        self._tasks: list[asyncio.Task[None]] = []
        self._brain_task: asyncio.Task[None] | None = None
        self._ticker_task: asyncio.Task[None] | None = None
        self._ending = False
        self._end_lock = asyncio.Lock()
        self._finished = False
        self._rule_of: dict[str, str] = {}  # nudge id -> rule id, for this call's nudges
        self.max_distress = 0.0
        self.failed_stages: list[str] = []
        self._unrecovered = False
        self._restarts: dict[Speaker, int] = {}
        self._bad_audio: AudioFormatError | None = None
        self._segment_counter = 0
        self._final_listeners: list[Callable[[TranscriptFinal], None]] = []
        self._track_offset: dict[Speaker, float] = {}  # call clock minus track time

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        custom = {k: v for k, v in self.meta.custom.items() if k.lower() != "token"}
        await self._publish(
            "call.started",
            CallStartedData(
                call_id=self.call_id,
                agent_id=self.agent_id,
                source=self.meta.source,
                started_at=iso(self.started_at),
                tracks=list(self.meta.tracks),
                playbook_version=self._playbook_version,
                custom=custom,
            ),
        )
        for speaker in self.meta.tracks:
            transcriber = self._components.make_transcriber(speaker)
            self._transcribers[speaker] = transcriber
            self._health[speaker] = _TrackHealth()
            self._restarts[speaker] = 0
            self._tasks.append(
                asyncio.create_task(self._read(speaker, transcriber), name=f"read-{speaker}")
            )
        self._brain_task = asyncio.create_task(self._brain(), name=f"brain-{self.call_id}")
        self._ticker_task = asyncio.create_task(self._ticker(), name=f"tick-{self.call_id}")
        log.info(
            "call started",
            extra={"call_id": self.call_id, "agent_id": self.agent_id, "source": self.meta.source},
        )

    @property
    def ended(self) -> bool:
        return self._ending

    async def push(self, frame: AudioFrame) -> None:
        """Hand a frame to its track's transcriber (never waits; see the queue policy above).

        Audio that cannot be decoded as declared raises an ``IngestError`` (close 1007) and
        ends that track's input; the call and its other track carry on.
        """
        if self._ending:
            return
        if self._bad_audio is not None:
            raise IngestError(self._bad_audio.code, str(self._bad_audio), 1007)
        t = self._transcribers.get(frame.track)  # looked up per frame: it may have been replaced
        if t is None:
            raise IngestError("unknown_track", f"this call has no {frame.track!r} track", 1007)
        # until a final measures it: the track's first frame arrives now
        self._track_offset.setdefault(frame.track, self.clock.now() - (frame.timestamp_s or 0.0))
        bps = _BYTES_PER_SAMPLE.get(frame.encoding, 2)
        self._metrics.audio_seconds.labels(frame.track).inc(
            len(frame.data) / bps / max(1, frame.sample_rate)
        )
        try:
            await maybe_await(t.push(frame))
        except AudioFormatError as exc:
            # the platform's audio, not our failure: the ingest stream is told
            self._bad_audio = exc
            await self._stage_failed("feed", frame.track, exc, retrying=False)
            with contextlib.suppress(Exception):
                await maybe_await(t.end_input())
            raise IngestError(exc.code, str(exc), 1007) from exc
        except AsrError:
            # the transcriber already failed: its reader reports it and may start a fresh one
            return
        except Exception as exc:
            await self._stage_failed("feed", frame.track, exc, retrying=False)
            raise IngestError(_INTERNAL, "the audio could not be queued", 1011) from exc
        self._count_drops(frame.track, t)

    async def end(self, reason: str = "stop") -> None:
        """Flush the last utterances, publish ``call.ended`` and release the call. Idempotent."""
        async with self._end_lock:
            if self._finished:
                return
            self._ending = True
            try:
                await asyncio.wait_for(self._drain(), self._config.end_timeout_s)
            except TimeoutError:
                log.error("call end timed out; cancelling stages", extra={"call_id": self.call_id})
            finally:
                await self._shutdown_tasks()
                await self._close_transcribers()
                if self._unrecovered:
                    self._metrics.call_failures.inc()
                await self._wait_for_store()
                try:
                    await self._publish(
                        "call.ended",
                        CallEndedData(
                            call_id=self.call_id,
                            agent_id=self.agent_id,
                            source=self.meta.source,
                            started_at=iso(self.started_at),
                            ended_at=iso(datetime.now(UTC)),
                            duration_s=round(self.clock.now(), 3),
                            reason=reason,
                            max_distress=round(self.max_distress, 4),
                        ),
                    )
                finally:
                    self._finished = True
                    if self._on_finished is not None:
                        self._on_finished(self)
                    log.info(
                        "call ended",
                        extra={
                            "call_id": self.call_id,
                            "reason": reason,
                            "duration_s": round(self.clock.now(), 2),
                        },
                    )

    async def _wait_for_store(self) -> None:
        """Hold ``call.ended`` until the call's events are written, so that whoever sees it (an
        agent or supervisor on another instance, a report job) finds the call in the shared
        database. A database that is away or slow delays the end by ``end_store_wait_s`` at
        most; the writes still land later (``app.store``), and the agent is not kept waiting."""
        if self._store.failing:
            log.warning("call ended while the database is away", extra={"call_id": self.call_id})
            return
        try:
            await asyncio.wait_for(self._store.flush(), self._config.end_store_wait_s)
        except TimeoutError:
            log.warning(
                "call ended before its events were written",
                extra={"call_id": self.call_id, "waited_s": self._config.end_store_wait_s},
            )

    async def _drain(self) -> None:
        for speaker, t in self._transcribers.items():
            try:
                await maybe_await(t.end_input())
            except Exception:
                log.debug("end_input failed", extra={"call_id": self.call_id, "track": speaker})
        # The readers end when their transcriber has flushed; a restarted reader is appended
        # to the task list while we wait, so wait until no new one appears.
        while True:
            pending = [t for t in self._tasks if not t.done()]
            if not pending:
                break
            await asyncio.gather(*pending, return_exceptions=True)
        if self._ticker_task is not None:
            self._ticker_task.cancel()
        await self._brain_q.put(_END_SENTINEL)
        if self._brain_task is not None:
            await asyncio.gather(self._brain_task, return_exceptions=True)
        # Prompts still on the agent's screen are closed with the call, not left hanging.
        try:
            out = await asyncio.get_running_loop().run_in_executor(
                self._components.model_executor, self._engine.end_call, self.clock.now()
            )
            await self._publish_nudges(out, None)
        except Exception as exc:
            await self._stage_failed("brain", None, exc, retrying=False)

    async def _shutdown_tasks(self) -> None:
        tasks = [*self._tasks, self._brain_task, self._ticker_task]
        for t in tasks:
            if t is not None and not t.done():
                t.cancel()
        await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)

    async def _close_transcribers(self) -> None:
        for speaker, t in self._transcribers.items():
            try:
                await t.aclose()
            except Exception:
                log.exception(
                    "transcriber close failed", extra={"call_id": self.call_id, "track": speaker}
                )

    # ---- text turns (practice mode) -------------------------------------------------------

    def add_final_listener(self, listener: Callable[[TranscriptFinal], None]) -> None:
        """Call ``listener`` (on the event loop; it must not block) with every final of this
        call, from ASR or ``say``, after it is published."""
        self._final_listeners.append(listener)

    async def say(
        self, speaker: Speaker, text: str, duration_s: float, *, not_before_s: float = 0.0
    ) -> TranscriptFinal | None:
        """A turn whose words are known without ASR (a simulated patient's scripted line, a
        trainee's typed reply): published and judged exactly like an ASR final that ended
        now and lasted ``duration_s``, but starting no earlier than ``not_before_s`` (the end
        of the turn it answers: typing is not talking over). Returns the final, or None once
        the call is ending."""
        if self._ending or not text.strip():
            return None
        now = self.clock.now()
        self._segment_counter += 1
        final = TranscriptFinal(
            speaker=speaker,
            text=text.strip(),
            start_s=min(now, max(0.0, not_before_s, now - max(0.0, duration_s))),
            end_s=now,
            segment_id=f"{speaker}-t{self._segment_counter}",
            speech_end_monotonic=time.monotonic(),
        )
        await self._on_final(final)
        return final

    # ---- stages -------------------------------------------------------------------------

    async def _read(self, speaker: Speaker, t: Transcriber) -> None:
        try:
            async for ev in t:
                if isinstance(ev, TranscriptFinal):
                    await self._on_final(self._final_on_call_clock(ev))
                elif isinstance(ev, TranscriptPartial):
                    if ev.text.strip():
                        ev = self._partial_on_call_clock(ev)
                        await self._publish("transcript.partial", self._segment_data(ev))
                        # Partials only hold back not-said timers; skip them when busy.
                        if self._brain_q.qsize() < _PARTIALS_WHEN_BELOW:
                            self._brain_q.put_nowait(ev)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            retry = (
                bool(getattr(exc, "retryable", False))
                and not self._ending
                and self._restarts[speaker] < MAX_ASR_RESTARTS
            )
            await self._stage_failed("asr", speaker, exc, retrying=retry)
            if retry:
                self._restarts[speaker] += 1
                fresh = self._components.make_transcriber(speaker)
                self._transcribers[speaker] = fresh
                with contextlib.suppress(Exception):
                    await t.aclose()
                self._tasks.append(
                    asyncio.create_task(self._read(speaker, fresh), name=f"read-{speaker}")
                )

    def _final_on_call_clock(self, final: TranscriptFinal) -> TranscriptFinal:
        """``final`` with its times (and its words') moved from track time to the call clock."""
        if final.speech_end_monotonic is not None:
            speech_end = self.clock.at_monotonic(final.speech_end_monotonic)
            self._track_offset[final.speaker] = speech_end - final.end_s
        offset = self._track_offset.get(final.speaker)
        if offset is None:
            return final

        def moved(t: float) -> float:
            return max(0.0, t + offset)

        return replace(
            final,
            start_s=moved(final.start_s),
            end_s=moved(final.end_s),
            words=tuple(
                replace(w, start_s=moved(w.start_s), end_s=moved(w.end_s)) for w in final.words
            ),
        )

    def _partial_on_call_clock(self, partial: TranscriptPartial) -> TranscriptPartial:
        offset = self._track_offset.get(partial.speaker)
        if offset is None:
            return partial
        return replace(
            partial,
            start_s=max(0.0, partial.start_s + offset),
            end_s=max(0.0, partial.end_s + offset),
        )

    def _segment_data(self, ev: TranscriptPartial | TranscriptFinal) -> TranscriptData:
        return TranscriptData(
            speaker=ev.speaker,
            text=ev.text,
            segment_id=ev.segment_id,
            start_s=round(ev.start_s, 3),
            end_s=round(ev.end_s, 3),
        )

    async def _on_final(self, final: TranscriptFinal) -> None:
        if not final.text.strip():
            return
        if not final.segment_id:
            self._segment_counter += 1
            final = TranscriptFinal(
                speaker=final.speaker,
                text=final.text,
                start_s=final.start_s,
                end_s=final.end_s,
                words=final.words,
                segment_id=f"{final.speaker}-{self._segment_counter}",
                speech_end_monotonic=final.speech_end_monotonic,
            )
        await self._publish("transcript.final", self._segment_data(final))
        await self._brain_q.put(final)
        for listener in self._final_listeners:
            try:
                listener(final)
            except Exception:
                log.exception("final listener failed", extra={"call_id": self.call_id})

    async def _stage_failed(
        self,
        stage: Literal["asr", "feed", "brain"],
        track: Speaker | None,
        exc: BaseException,
        *,
        retrying: bool,
    ) -> None:
        """Log it (no words), count it, and tell the agent and the supervisor."""
        name = f"{stage}-{track}" if track else stage
        self.failed_stages.append(name)
        self._unrecovered = self._unrecovered or not retrying
        self._metrics.stage_failures.labels(stage).inc()
        code = str(getattr(exc, "code", _INTERNAL))
        log.error(
            "call stage failed",
            exc_info=not isinstance(exc, AudioFormatError),
            extra={"call_id": self.call_id, "stage": name, "code": code, "retrying": retrying},
        )
        # ASR errors speak of audio and engines; anything else may carry data: say less.
        message = (
            str(exc)
            if code != _INTERNAL
            else f"the {stage} stage failed on an internal error"
        )
        if track is not None and not retrying:
            message += f"; the {track}'s words are no longer transcribed on this call"
        with contextlib.suppress(Exception):
            await self._publish(
                "call.error",
                CallErrorData(
                    stage=stage,
                    track=track,
                    code=code,
                    retryable=bool(getattr(exc, "retryable", False)),
                    retrying=retrying,
                    message=message,
                ),
            )

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self._config.tick_interval_s)
            try:
                await self._check_health()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("overload check failed", extra={"call_id": self.call_id})
            if not self._tick_pending:
                self._tick_pending = True
                try:
                    self._brain_q.put_nowait(Tick(at_s=self.clock.now()))
                except asyncio.QueueFull:
                    self._tick_pending = False

    # ---- overload -----------------------------------------------------------------------

    def _count_drops(self, speaker: Speaker, t: Transcriber) -> None:
        """Export what the track's queue dropped since the last look (seconds and frames)."""
        h = self._health[speaker]
        dropped_s = float(getattr(t, "dropped_audio_s", 0.0))
        frames = int(getattr(t, "dropped_frames", 0))
        if dropped_s < h.seen_s or frames < h.seen_frames:  # a fresh transcriber starts at 0
            h.seen_s, h.seen_frames = 0.0, 0
        if dropped_s > h.seen_s:
            self._metrics.audio_dropped_seconds.labels(speaker).inc(dropped_s - h.seen_s)
            h.dropped_s += dropped_s - h.seen_s
        if frames > h.seen_frames:
            self._metrics.frames_dropped.labels(speaker).inc(frames - h.seen_frames)
            h.dropped_frames += frames - h.seen_frames
        h.seen_s, h.seen_frames = dropped_s, frames

    def asr_lag_s(self) -> float:
        """The largest ASR lag of this call's tracks, seconds (0 when they keep up)."""
        return max(
            (float(getattr(t, "lag_s", 0.0)) for t in self._transcribers.values()), default=0.0
        )

    def dropped_audio_s(self) -> dict[str, float]:
        """Audio dropped so far, seconds per track."""
        return {speaker: round(h.dropped_s, 3) for speaker, h in self._health.items()}

    async def _check_health(self) -> None:
        """Publish ``call.degraded`` / ``call.recovered`` (see the module docstring)."""
        if self._ending:
            return
        for speaker, t in self._transcribers.items():
            self._count_drops(speaker, t)
            self._health[speaker].lag_s = float(getattr(t, "lag_s", 0.0))
        dropped = sum(h.dropped_s for h in self._health.values())
        lag = max((h.lag_s for h in self._health.values()), default=0.0)
        new_drops = dropped - self._degraded_reported_s > 1e-6
        threshold = self._config.degraded_lag_s
        if new_drops or lag > threshold:
            self._calm_ticks = 0
            if self._degraded_since is None or new_drops:
                first = self._degraded_since is None
                if first:
                    self._degraded_since = self.clock.now()
                self._degraded_reported_s = dropped
                data = self._degraded_data(new_drops, lag)
                self._metrics.calls_degraded.labels(data["reason"]).inc()
                await self._publish("call.degraded", data)
                log.warning(
                    "call degraded",
                    extra={
                        "call_id": self.call_id,
                        "dropped_audio_s": round(dropped, 3),
                        "asr_lag_s": round(lag, 3),
                    },
                )
            return
        if self._degraded_since is None:
            return
        if lag <= threshold / 2:
            self._calm_ticks += 1
        else:
            self._calm_ticks = 0
        if self._calm_ticks >= self._config.recover_ticks:
            since, self._degraded_since = self._degraded_since, None
            self._calm_ticks = 0
            await self._publish(
                "call.recovered",
                {
                    "dropped_audio_s": round(dropped, 3),
                    "tracks": self._track_numbers(),
                    "degraded_for_s": round(self.clock.now() - since, 3),
                },
            )
            log.info("call recovered", extra={"call_id": self.call_id})

    def _track_numbers(self) -> dict[str, dict[str, float]]:
        return {
            speaker: {"dropped_audio_s": round(h.dropped_s, 3), "asr_lag_s": round(h.lag_s, 3)}
            for speaker, h in self._health.items()
        }

    def _degraded_data(self, new_drops: bool, lag: float) -> dict[str, Any]:
        worst = max(
            self._health,
            key=lambda sp: (self._health[sp].dropped_s if new_drops else self._health[sp].lag_s),
        )
        return {
            "reason": "audio_dropped" if new_drops else "asr_lag",
            "track": worst,
            "dropped_audio_s": round(sum(h.dropped_s for h in self._health.values()), 3),
            "asr_lag_s": round(lag, 3),
            "lag_threshold_s": self._config.degraded_lag_s,
            "tracks": self._track_numbers(),
        }

    async def _brain(self) -> None:
        loop = asyncio.get_running_loop()
        ex = self._components.model_executor
        while True:
            item = await self._brain_q.get()
            if item is _END_SENTINEL:
                return
            try:
                if isinstance(item, Tick):
                    self._tick_pending = False
                    item = Tick(at_s=self.clock.now())
                    out = await loop.run_in_executor(ex, self._engine.handle, item)
                    await self._publish_nudges(out, None)
                elif isinstance(item, TranscriptFinal):
                    await self._think_final(item, loop)
                elif isinstance(item, TranscriptPartial):
                    out = await loop.run_in_executor(ex, self._engine.handle, item)
                    await self._publish_nudges(out, None)
                elif isinstance(item, _FeedbackIn):
                    fb = Feedback(item.nudge_id, item.action, self.clock.now())  # type: ignore[arg-type]
                    out = await loop.run_in_executor(ex, self._engine.handle, fb)
                    await self._publish_nudges(out, None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._stage_failed("brain", None, exc, retrying=True)

    async def _think_final(self, final: TranscriptFinal, loop: asyncio.AbstractEventLoop) -> None:
        ex = self._components.model_executor
        out = await loop.run_in_executor(ex, self._engine.handle, final)
        await self._publish_nudges(out, final)
        if final.speaker != "caller" or self._scorer is None:
            return
        t0 = time.perf_counter()
        signals = await loop.run_in_executor(ex, self._scorer.add_final, final)
        self._metrics.classify_ms.observe((time.perf_counter() - t0) * 1000)
        if signals is None:
            return
        self.max_distress = max(self.max_distress, float(signals.distress))
        await self._publish(
            "signals.updated",
            SignalsData(
                distress=round(float(signals.distress), 4),
                concerns={k: round(float(v), 4) for k, v in signals.concerns.items()},
                trend=signals.trend,
                crisis=bool(signals.crisis),
                red_flags=sorted(signals.red_flags),
                red_flags_about_others=sorted(signals.about_others),
                distressed=bool(signals.distressed),
                active=sorted(signals.active),
                evidence=signals.evidence,
                at_s=round(float(signals.at_s), 3),
            ),
        )
        out = await loop.run_in_executor(ex, self._engine.handle, signals)
        await self._publish_nudges(out, final)

    async def _publish_nudges(
        self, events: list[NudgeEvent], cause: TranscriptFinal | None
    ) -> None:
        for ev in events or ():
            if isinstance(ev, NudgeCreated):
                wire_id = ev.nudge_id
                self._rule_of[wire_id] = ev.rule_id
                latency = None
                if cause is not None and cause.speech_end_monotonic is not None:
                    latency = max(0.0, time.monotonic() - cause.speech_end_monotonic)
                    self._metrics.nudge_latency.observe(latency)
                await self._publish(
                    "nudge.created",
                    NudgeCreatedData(
                        nudge_id=wire_id,
                        rule_id=ev.rule_id,
                        title=ev.title,
                        suggestion=ev.suggestion,
                        reason=ev.reason,
                        details=list(ev.details),
                        priority=ev.priority,
                        expires_at=iso(self.clock.wall(ev.expires_at_s)),
                        escalate=ev.escalate,
                        at_s=round(ev.at_s, 3),
                        latency_s=round(latency, 4) if latency is not None else None,
                    ),
                )
                if self._on_nudge is not None:
                    self._on_nudge(wire_id, self)
            elif isinstance(ev, NudgeResolved):
                await self._publish(
                    "nudge.resolved",
                    NudgeResolvedData(
                        nudge_id=ev.nudge_id,
                        rule_id=ev.rule_id,
                        how=ev.how,
                        by=ev.by,
                        at_s=round(ev.at_s, 3),
                    ),
                )
            elif isinstance(ev, Escalation):
                await self._publish(
                    "escalation",
                    EscalationData(
                        nudge_id=ev.nudge_id,
                        rule_id=ev.rule_id,
                        severity=ev.severity,
                        reason=ev.reason,
                        agent_id=self.agent_id,
                        at_s=round(ev.at_s, 3),
                    ),
                    to_agent=ev.severity == "urgent",
                )

    # ---- feedback -----------------------------------------------------------------------

    async def feedback(self, nudge_id: str, action: str, agent_id: str) -> None:
        """The agent pressed a button: stored, and handed to the engine (accept/dismiss resolve)."""
        if nudge_id not in self._rule_of:
            raise UnknownNudge(nudge_id)
        await self._store.enqueue(
            FeedbackOp(
                call_id=self.call_id,
                nudge_id=nudge_id,
                rule_id=self._rule_of.get(nudge_id, ""),
                agent_id=agent_id,
                action=action,
                at=datetime.now(UTC),
            )
        )
        if not self._finished:
            await self._brain_q.put(_FeedbackIn(nudge_id, action, agent_id))

    # ---- publishing ---------------------------------------------------------------------

    async def _publish(
        self, kind: str, data: EventData | Mapping[str, Any], *, to_agent: bool = True
    ) -> BusMessage:
        """Publish one event; its data is a contract model (a mapping is validated into one)."""
        wire = event_data(kind, data)
        msg = await self._bus.publish(self.call_id, self.agent_id, kind, wire, to_agent=to_agent)
        self._metrics.events_published.labels(kind).inc()
        if kind in DURABLE_TYPES:
            await self._store.enqueue(EnvelopeOp(msg.envelope, self.agent_id, to_agent))
        return msg
