"""Overload is seen, never silent: a real ``CallSession`` and ``StreamingTranscriber`` on a slow
engine, fed faster than it can transcribe (issue 10's reproduction: 60 s of two-track audio
pushed at 10x pace).

The tests assert what happens and in which order (what is dropped, which events reach the
agent and the supervisor, which track gives way first), never how long anything took.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from app.bus import BusMessage, InProcessBus
from app.components import Components, transcriber_configs
from app.ingest.base import CallMeta
from app.metrics import Metrics
from app.session import CallSession, SessionConfig
from app.settings import Settings
from app.testing import RecordingStore
from asr.engines.base import ENGINE_RATE, EngineResult
from asr.scheduler import AGENT_LANE, CALLER_LANE, AsrScheduler, lane_of
from asr.transcriber import StreamingTranscriber, partial_interval_factor
from asr.types import AudioFrame, Speaker
from tests.app.fakes import KeywordEngine
from tests.asr.conftest import (  # noqa: F401  (speak and speech_dir are fixtures)
    APPOINTMENT,
    SICK,
    Speak,
    silence,
    speak,
    speech_dir,
    to_mulaw_frames,
)


class SlowDecoder:
    """Each decode takes ``cost_s`` of a thread (sleeping, as a busy engine would block it)."""

    def __init__(self, engine: SlowEngine) -> None:
        self.engine = engine
        self.samples = 0

    def accept(self, audio: np.ndarray) -> str | None:
        self.samples += len(audio)
        return None

    def _decode(self, kind: str) -> str:
        time.sleep(self.engine.cost_s)
        self.engine.log.append((self.engine.speaker, kind))
        return f"{self.engine.speaker} words {self.samples // ENGINE_RATE}"

    def partial(self) -> str:
        return self._decode("partial")

    def prefetch_final(self) -> str:
        return self._decode("prefetch")

    def finish(self) -> EngineResult:
        return EngineResult(self._decode("final"))


class SlowEngine:
    name = "slow"
    native_partials = False

    def __init__(self, speaker: Speaker, log: list[tuple[str, str]], cost_s: float) -> None:
        self.speaker = speaker
        self.log = log
        self.cost_s = cost_s

    def start_utterance(self) -> SlowDecoder:
        return SlowDecoder(self)

    def transcribe(self, audio: np.ndarray) -> EngineResult:
        decoder = self.start_utterance()
        decoder.accept(audio)
        return decoder.finish()


def _track_audio(speech: np.ndarray, lead_s: float, gap_s: float, total_s: float) -> np.ndarray:
    parts = [silence(lead_s)]
    length = len(parts[0])
    while length < total_s * ENGINE_RATE:
        for piece in (speech, silence(gap_s)):
            parts.append(piece)
            length += len(piece)
    return np.concatenate(parts)[: int(total_s * ENGINE_RATE)]


def _trimmed(x: np.ndarray) -> np.ndarray:
    loud = np.nonzero(np.abs(x) > 0.01)[0]
    return x[loud[0] : loud[-1] + 1]


async def _wait_for(predicate: Any, budget_s: float = 120.0) -> None:
    # a generous budget for a loaded machine: the test asserts events, not times
    deadline = time.monotonic() + budget_s
    while not predicate():
        assert time.monotonic() < deadline, "the event never came"
        await asyncio.sleep(0.05)


async def test_overload_drops_agent_audio_first_and_says_so(speak: Speak) -> None:  # noqa: F811
    log: list[tuple[str, str]] = []
    scheduler = AsrScheduler(1)
    configs = transcriber_configs(Settings(_env_file=None))  # type: ignore[call-arg]
    transcribers: dict[str, StreamingTranscriber] = {}

    def make_transcriber(speaker: Speaker) -> Any:
        tr = StreamingTranscriber(
            speaker, SlowEngine(speaker, log, 0.25), scheduler.lane(lane_of(speaker)),
            configs[speaker],
        )
        transcribers[speaker] = tr
        return tr

    components = Components(
        make_transcriber=make_transcriber,
        make_scorer=None,
        make_engine=KeywordEngine,  # type: ignore[arg-type]
        model_executor=ThreadPoolExecutor(1),
        asr_pressure=scheduler.pressure_s,
    )
    bus = InProcessBus()
    seen: list[BusMessage] = []
    bus.subscribe(seen.append)
    metrics = Metrics()
    session = CallSession(
        CallMeta("CA-overload", "A1", "test"),
        components=components,
        playbook=None,
        playbook_version=None,
        bus=bus,
        store=RecordingStore(),  # type: ignore[arg-type]
        metrics=metrics,
        config=SessionConfig(tick_interval_s=0.2, recover_ticks=3),
    )

    caller_speech = _trimmed(speak(SICK))
    caller = _track_audio(caller_speech, 0.5, 1.5, 60.0)
    caller_utterances = int((60.0 - 0.5) // (len(caller_speech) / ENGINE_RATE + 1.5))
    agent = _track_audio(_trimmed(speak(APPOINTMENT)), 2.5, 1.5, 60.0)
    frames = {
        "caller": [AudioFrame("caller", f, 8000, "mulaw") for f in to_mulaw_frames(caller)],
        "agent": [AudioFrame("agent", f, 8000, "mulaw") for f in to_mulaw_frames(agent)],
    }
    await session.start()
    try:
        # 60 s of audio at 10x pace: 200 ms of each track every 20 ms
        for i in range(0, len(frames["caller"]), 10):
            for track in ("caller", "agent"):
                for frame in frames[track][i : i + 10]:
                    await session.push(frame)
            await asyncio.sleep(0.02)
        kinds = lambda: [m.envelope["type"] for m in seen]  # noqa: E731
        await _wait_for(lambda: "call.recovered" in kinds())
    finally:
        await session.end()
        scheduler.shutdown()

    # The single queue per track dropped audio, and all of it is exported, per track.
    dropped = {sp: tr.dropped_audio_s for sp, tr in transcribers.items()}
    assert dropped["agent"] > 0
    for track, seconds in dropped.items():
        exported = metrics.audio_dropped_seconds.labels(track)._value.get()
        assert exported == pytest.approx(seconds)
        frames_out = metrics.frames_dropped.labels(track)._value.get()
        assert frames_out == transcribers[track].dropped_frames  # type: ignore[index]
    # Degradation order: the agent track gives way before the caller's. (On a loaded machine
    # both inboxes can overflow for the whole run and drop the same amount: never less agent.)
    assert dropped["agent"] >= dropped["caller"]
    decodes = Counter(log)
    assert decodes[("agent", "partial")] <= decodes[("caller", "partial")]
    # A caller final is never lost silently: each caller utterance has its final, or caller
    # audio was dropped and a call.degraded said so.
    degraded_caller = [
        m for m in seen if m.envelope["type"] == "call.degraded"
        and m.envelope["data"]["tracks"]["caller"]["dropped_audio_s"] > 0
    ]
    assert decodes[("caller", "final")] >= caller_utterances or (
        dropped["caller"] > 0 and degraded_caller
    )

    # call.degraded (audio_dropped, with the numbers) reached the agent and supervisors, and
    # call.recovered followed once the backlog was worked off; both are stored.
    types = [m.envelope["type"] for m in seen]
    degraded = [m for m in seen if m.envelope["type"] == "call.degraded"]
    assert degraded and degraded[0].to_agent
    assert types.index("call.degraded") < types.index("call.recovered") < types.index("call.ended")
    dropped_event = [m.envelope["data"] for m in degraded if m.envelope["data"]["reason"] ==
                     "audio_dropped"]
    assert dropped_event
    last = dropped_event[-1]
    assert last["tracks"]["agent"]["dropped_audio_s"] > 0
    assert last["dropped_audio_s"] <= sum(dropped.values()) + 1e-6
    recovered = next(m.envelope["data"] for m in seen if m.envelope["type"] == "call.recovered")
    assert recovered["dropped_audio_s"] == pytest.approx(sum(dropped.values()), abs=1e-3)
    stored = {op.envelope["type"] for op in session._store.ops if hasattr(op, "envelope")}  # type: ignore[attr-defined]
    assert {"call.degraded", "call.recovered"} <= stored


async def test_a_stalled_instance_drops_agent_audio_before_any_caller_audio() -> None:
    """Both tracks wait behind a busy ASR thread and receive the same audio: the agent's
    queue overflows first, and caller audio is kept until the agent has lost as much. (A
    job order alone did not give this: the CI run of 9264649 dropped more caller audio.)"""
    scheduler = AsrScheduler(1)
    gate, running = threading.Event(), threading.Event()

    def block() -> None:
        running.set()
        gate.wait()

    configs = transcriber_configs(Settings(_env_file=None))  # type: ignore[call-arg]
    log: list[tuple[str, str]] = []
    blocker = scheduler.submit(CALLER_LANE, block)
    tracks = {
        sp: StreamingTranscriber(
            sp, SlowEngine(sp, log, 0.0), scheduler.lane(lane_of(sp)), configs[sp]
        )
        for sp in ("caller", "agent")
    }
    try:
        assert running.wait(30)
        frame = bytes([0xFF]) * 160  # 20 ms of mu-law silence
        seen: list[dict[str, float]] = []
        for _ in range(int(2 * configs["caller"].max_queued_audio_s / 0.02)):
            for sp, tr in tracks.items():
                tr.push(AudioFrame(sp, frame, 8000, "mulaw"))
            seen.append({sp: tr.dropped_audio_s for sp, tr in tracks.items()})
        first_agent = next(i for i, d in enumerate(seen) if d["agent"] > 0)
        first_caller = next(i for i, d in enumerate(seen) if d["caller"] > 0)
        assert first_agent < first_caller
        assert all(d["agent"] >= d["caller"] for d in seen)
    finally:
        gate.set()
        blocker.result(timeout=30)
        for tr in tracks.values():
            await tr.aclose()
        scheduler.shutdown()


def test_partials_give_way_in_the_documented_order() -> None:
    """As ASR jobs wait longer: caller partials thin out, then agent partials stop, then
    caller partials stop (docs/service.md, "Overload")."""
    configs = transcriber_configs(Settings(_env_file=None))  # type: ignore[call-arg]
    caller, agent = configs["caller"], configs["agent"]
    states = []
    for wait in np.linspace(0.0, 0.5, 51):
        c = partial_interval_factor(caller, float(wait), 0.0)
        a = partial_interval_factor(agent, float(wait), 0.0)
        state = (
            "normal" if c == 1.0 and a is not None
            else "caller_thinned" if c is not None and a is not None
            else "agent_stopped" if c is not None
            else "caller_stopped"
        )
        if not states or states[-1] != state:
            states.append(state)
    assert states == ["normal", "caller_thinned", "agent_stopped", "caller_stopped"]
    # thinning only ever lengthens the interval, and never beyond the configured factor
    factors = [partial_interval_factor(caller, float(w), 0.0) for w in np.linspace(0, 0.25, 26)]
    assert all(f is not None for f in factors)
    assert factors == sorted(factors)  # type: ignore[type-var]
    assert factors[-1] == pytest.approx(caller.partial_thin_factor)
    # a backlog of queued audio stops caller partials whatever the wait
    assert partial_interval_factor(caller, 0.0, 5.0) is None


def test_caller_jobs_run_before_agent_jobs_that_waited_longer() -> None:
    scheduler = AsrScheduler(1)
    order: list[str] = []
    gate, running = threading.Event(), threading.Event()

    def block() -> None:
        running.set()
        gate.wait()

    try:
        blocker = scheduler.submit(CALLER_LANE, block)
        assert running.wait(30)
        agent_lane, caller_lane = scheduler.lane(AGENT_LANE), scheduler.lane(CALLER_LANE)
        futures = [agent_lane.submit(order.append, "agent-1")]
        futures += [caller_lane.submit(order.append, f"caller-{i}") for i in range(3)]
        futures.append(agent_lane.submit(order.append, "agent-2"))
        assert scheduler.queued() == 5 and scheduler.pressure_s() >= 0
        gate.set()
        blocker.result(timeout=30)
        for f in futures:
            f.result(timeout=30)
    finally:
        gate.set()
        scheduler.shutdown()
    assert order == ["caller-0", "caller-1", "caller-2", "agent-1", "agent-2"]
    assert scheduler.pressure_s() == 0.0


def test_a_failing_job_reaches_its_caller_and_the_threads_go_on() -> None:
    scheduler = AsrScheduler(1)
    try:
        bad = scheduler.submit(CALLER_LANE, lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            bad.result(timeout=30)
        assert scheduler.submit(AGENT_LANE, lambda: "ok").result(timeout=30) == "ok"
    finally:
        scheduler.shutdown()
    with pytest.raises(RuntimeError):
        scheduler.submit(CALLER_LANE, print)


class GatedEngine(SlowEngine):
    """Every decode waits until the test opens the gate: ASR is stuck, as on a saturated box."""

    def __init__(self, speaker: Speaker, gate: threading.Event) -> None:
        super().__init__(speaker, [], 0.0)
        self.gate = gate

    def start_utterance(self) -> SlowDecoder:
        self.gate.wait(120)
        return SlowDecoder(self)


def test_admission_and_readyz_follow_measured_asr_lag(tmp_path: Any, speak: Speak) -> None:  # noqa: F811
    from tests.app.service_helpers import (
        eventually,
        live,
        recv_json,
        tok,
        twilio_media,
        twilio_start,
    )

    gate = threading.Event()

    def factory(settings: Any, metrics: Any) -> Components:
        scheduler = AsrScheduler(1)
        configs = transcriber_configs(settings)
        return Components(
            make_transcriber=lambda sp: StreamingTranscriber(  # type: ignore[arg-type,return-value]
                sp, GatedEngine(sp, gate), scheduler.lane(lane_of(sp)), configs[sp]
            ),
            make_scorer=None,
            make_engine=KeywordEngine,  # type: ignore[arg-type]
            model_executor=ThreadPoolExecutor(1),
            asr_pressure=scheduler.pressure_s,
            close=lambda: (gate.set(), scheduler.shutdown(wait=False)),  # type: ignore[func-returns-value]
        )

    speech = np.concatenate([silence(0.3), _trimmed(speak(SICK)), silence(1.0)])
    frames = to_mulaw_frames(speech)

    def ready() -> Any:
        import httpx

        return httpx.get(f"{s.http}/readyz", timeout=30)

    with live(tmp_path, components=factory, max_calls=10, admit_max_asr_lag_s=0.5) as s:
        assert ready().json()["at_capacity"] is False
        with s.ws("/v1/ingest/twilio", tok("ingest")) as first:
            first.send(twilio_start("CA-busy", "A1", stream_sid="MZ1"))
            for frame in frames:  # speech: the engine is asked to decode, and blocks
                first.send(twilio_media(frame, stream_sid="MZ1"))
            deadline = time.monotonic() + 120
            while ready().status_code == 200:
                assert time.monotonic() < deadline, "ASR lag never showed in /readyz"
                time.sleep(0.1)
            body = ready().json()
            assert body["at_capacity"] is True and body["asr_lag_s"] > 0.5
            assert "behind" in body["error"]
            # one call of ten: the call limit is far, the measured lag refuses the next call
            with s.ws("/v1/ingest/twilio", tok("ingest")) as second:
                second.send(twilio_start("CA-next", "A2", stream_sid="MZ2"))
                assert recv_json(second)["code"] == "at_capacity"
            gate.set()  # ASR catches up
            deadline = time.monotonic() + 120
            while ready().status_code != 200:
                assert time.monotonic() < deadline, "readyz never recovered"
                time.sleep(0.1)
            with s.ws("/v1/ingest/twilio", tok("ingest")) as third:
                third.send(twilio_start("CA-later", "A3", stream_sid="MZ3"))
                third.send(twilio_media(frames[0], stream_sid="MZ3"))
            calls = eventually(
                lambda: s.get("/v1/calls", tok("supervisor")).json()["calls"],
                lambda calls: "CA-later" in {c["call_id"] for c in calls},
            )
        assert {c["call_id"] for c in calls} >= {"CA-busy", "CA-later"}
        assert "CA-next" not in {c["call_id"] for c in calls}
