"""``CallSession`` in-process (``app.testing.run_session``): frames in, events out, no server.

Stage failures, restarts and the agent's feedback, on the scripted fakes of ``fakes.py``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest

from app.contract import EVENT_MODELS
from app.ingest.base import CallMeta, IngestError
from app.metrics import Metrics
from app.session import SessionConfig
from app.testing import AgentFeedback, Expect, RecordingStore, run_session
from asr.types import AudioFrame, TranscriptFinal, TranscriptPartial
from tests.app.fakes import KeywordEngine, TextTranscriber, fake_components, said


def _components(fail_on: str | None = None) -> Any:
    return fake_components(fail_on=fail_on)(None, None)


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def _metric(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels or None)
    return float(value or 0.0)


async def test_a_call_from_start_to_end_publishes_valid_events_in_order() -> None:
    store = RecordingStore()
    events = await run_session(
        _components(),
        [said("caller", "I'm terrified"), Expect("nudge.created"), said("agent", "I hear you")],
        store=store,
    )
    types = _types(events)
    assert types[0] == "call.started" and types[-1] == "call.ended"
    assert types.index("transcript.final") < types.index("signals.updated")
    assert types.index("signals.updated") < types.index("nudge.created")
    for event in events:
        EVENT_MODELS[event["type"]].model_validate(event)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    # every durable event went to the store, partials did not
    stored = [op.envelope["type"] for op in store.ops if hasattr(op, "envelope")]
    assert stored == [t for t in types if t != "transcript.partial"]


async def test_accepting_a_nudge_resolves_it_and_is_stored() -> None:
    store = RecordingStore()
    events = await run_session(
        _components(),
        [
            said("caller", "I'm terrified"),
            Expect("nudge.created"),
            AgentFeedback("accepted"),
            Expect("nudge.resolved"),
        ],
        store=store,
    )
    created = next(e["data"] for e in events if e["type"] == "nudge.created")
    resolved = [e["data"] for e in events if e["type"] == "nudge.resolved"]
    assert [(r["nudge_id"], r["how"]) for r in resolved] == [(created["nudge_id"], "accepted")]
    feedback = [op for op in store.ops if not hasattr(op, "envelope")]
    assert [(f.nudge_id, f.action) for f in feedback] == [(created["nudge_id"], "accepted")]


class StalledStore(RecordingStore):
    """A store whose writer never catches up (a database that hangs), or that says it is away."""

    def __init__(self, failing: bool) -> None:
        super().__init__(failing=failing)
        self.flushes = 0

    async def flush(self) -> None:
        self.flushes += 1
        await asyncio.Event().wait()


@pytest.mark.parametrize("away", [False, True])
async def test_a_stalled_database_delays_call_ended_by_the_bound_at_most(away: bool) -> None:
    """``call.ended`` waits for the store so that other instances can read the call, but a
    database that hangs holds it ``end_store_wait_s`` at most, and one known to be away not at
    all: the agent always learns the call is over, and nothing published is dropped."""
    store = StalledStore(failing=away)
    events = await asyncio.wait_for(
        run_session(
            _components(),
            [said("caller", "I'm terrified"), Expect("nudge.created")],
            store=store,
            config=SessionConfig(end_store_wait_s=0.05),
        ),
        5.0,  # a deadlock guard far above the bound
    )
    assert _types(events)[-1] == "call.ended"
    assert store.flushes == (0 if away else 1)
    stored = [op.envelope["type"] for op in store.ops if hasattr(op, "envelope")]
    assert stored[-1] == "call.ended" and "nudge.created" in stored


async def test_asr_crash_in_one_call_does_not_touch_another() -> None:
    metrics = Metrics()
    components = _components(fail_on="CRASH")
    got1, got2 = await asyncio.gather(
        run_session(
            components,
            [
                said("caller", "CRASH"),
                Expect("call.error"),
                said("agent", "agent still heard"),
                Expect("transcript.final"),
            ],
            meta=CallMeta("CA1", "A1", "test"),
            metrics=metrics,
        ),
        run_session(
            components,
            [said("caller", "I'm terrified"), Expect("nudge.created")],
            meta=CallMeta("CA2", "A2", "test"),
            metrics=metrics,
        ),
    )
    assert [e["data"]["text"] for e in got1 if e["type"] == "transcript.final"] == [
        "agent still heard"
    ]
    assert any(e["type"] == "nudge.created" for e in got2)
    # the agent is told the caller's words are no longer transcribed
    errors = [e["data"] for e in got1 if e["type"] == "call.error"]
    assert [(e["stage"], e["track"], e["retryable"], e["retrying"]) for e in errors] == [
        ("asr", "caller", False, False)
    ]
    assert "no longer transcribed" in errors[0]["message"]
    assert not any(e["type"] == "call.error" for e in got2)
    assert _metric(metrics, "carecue_call_failures_total") == 1.0
    assert _metric(metrics, "carecue_stage_failures_total", stage="asr") == 1.0


async def test_a_retryable_asr_failure_restarts_the_track_and_the_call_goes_on() -> None:
    metrics = Metrics()
    got = await run_session(
        _components(),
        [
            said("caller", "FLAKY"),
            Expect("call.error"),
            said("caller", "words after the restart"),
            Expect("transcript.final"),
        ],
        metrics=metrics,
    )
    event = next(e for e in got if e["type"] == "call.error")
    EVENT_MODELS["call.error"].model_validate(event)
    err = event["data"]
    assert (err["code"], err["retryable"], err["retrying"]) == ("engine_error", True, True)
    finals = [e["data"]["text"] for e in got if e["type"] == "transcript.final"]
    assert finals == ["words after the restart"]
    assert _metric(metrics, "carecue_call_failures_total") == 0.0


async def test_audio_that_is_not_the_declared_encoding_fails_the_next_push_with_1007() -> None:
    with pytest.raises(IngestError) as exc:
        # the session learns the audio is bad in its feed task (and tells the agent); the
        # ingest stream hears of it on its next push, and closes with that code
        await run_session(
            _components(),
            [said("caller", "GARBAGE"), Expect("call.error"), said("caller", "more")],
        )
    assert (exc.value.code, exc.value.close_code) == ("garbage_audio", 1007)


class SkewedTranscriber(TextTranscriber):
    """``TextTranscriber`` whose track time is not the call clock: the platform stamps the
    stream from 500 s (its own origin), and after the second utterance 30 s of audio were lost
    to an ASR backlog, so the track clock falls 30 s behind what was said when."""

    TRACK_TIMES = (500.0, 501.0, 472.0)  # each utterance's start in track time (1 s long)

    def __init__(self, speaker: Any) -> None:
        super().__init__(speaker)
        self.pushed_at: list[float] = []  # time.monotonic() of each utterance's push

    def push(self, frame: Any) -> None:
        self.pushed_at.append(time.monotonic())
        n = len(self.pushed_at)
        start = self.TRACK_TIMES[min(n, len(self.TRACK_TIMES)) - 1]
        text, seg = frame.data.decode(), f"{self.speaker}-{n}"
        self._q.put_nowait(TranscriptPartial(self.speaker, text.split()[0], seg, start, start + 1))
        self._q.put_nowait(
            TranscriptFinal(
                self.speaker, text, start, start + 1.0, segment_id=seg,
                speech_end_monotonic=self.pushed_at[-1],
            )
        )


class RecordingEngine(KeywordEngine):
    """Keeps the time of every event it handles, with the call clock's reading at that moment."""

    def __init__(self, playbook: Any, clock: Any, id_prefix: str = "n") -> None:
        super().__init__(playbook, clock, id_prefix)
        self.seen: list[tuple[str, float, float, float]] = []  # kind, event time, now, monotonic

    def handle(self, event: Any) -> list[Any]:
        at = event.end_s if isinstance(event, TranscriptFinal) else getattr(event, "at_s", None)
        if at is not None:
            self.seen.append((type(event).__name__, at, self.clock.now(), time.monotonic()))
        return super().handle(event)


async def test_under_an_asr_backlog_the_engine_times_stay_on_the_call_clock() -> None:
    transcribers: list[SkewedTranscriber] = []
    engines: list[RecordingEngine] = []

    def make_transcriber(speaker: Any) -> SkewedTranscriber:
        transcribers.append(SkewedTranscriber(speaker))
        return transcribers[-1]

    def make_engine(playbook: Any, clock: Any, prefix: str) -> RecordingEngine:
        engines.append(RecordingEngine(playbook, clock, prefix))
        return engines[-1]

    def stamped(text: str, at_s: float) -> AudioFrame:
        return replace(said("caller", text), timestamp_s=at_s)

    components = replace(_components(), make_transcriber=make_transcriber, make_engine=make_engine)
    events = await run_session(
        components,
        [
            stamped("I'm terrified", 500.0),
            Expect("nudge.created"),
            stamped("it is my scan", 501.0),
            Expect("transcript.final", 2),
            stamped("thank you", 502.0),
            Expect("transcript.final", 3),
        ],
        config=SessionConfig(tick_interval_s=0.01),
    )
    (engine,) = engines
    finals = [at for kind, at, _now, _mono in engine.seen if kind == "TranscriptFinal"]
    # The call clock's origin, from two readings the engine took back to back (the tolerance
    # covers the gap between them, not a duration: the skews under test are 500 s and 30 s).
    # Each final's end is when its speech end was pushed, on that clock: neither 500 s ahead
    # nor, after the backlog, 30 s behind the ticks and signals it is weighed against.
    _kind, _at, now, mono = engine.seen[0]
    origin = mono - now
    pushed = [t for tr in transcribers for t in tr.pushed_at]
    assert finals == pytest.approx([t - origin for t in pushed], abs=0.25)
    for _kind, at, now, _mono in engine.seen:
        assert at <= now  # nothing the engine sees lies in the call's future
    # what the agent reads is on the same clock: within the call (partials, provisional, take
    # the track's last measured offset until their final corrects it)
    duration = next(e["data"]["duration_s"] for e in events if e["type"] == "call.ended")
    times = [
        e["data"][key]
        for e in events
        if e["type"] in ("transcript.final", "nudge.created")
        for key in ("start_s", "end_s", "at_s")
        if key in e["data"]
    ]
    assert times and 0.0 <= min(times) and max(times) <= duration
