"""``CallSession`` in-process (``app.testing.run_session``): frames in, events out, no server.

Stage failures, restarts and the agent's feedback, on the scripted fakes of ``fakes.py``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.contract import EVENT_MODELS
from app.ingest.base import CallMeta, IngestError
from app.metrics import Metrics
from app.testing import AgentFeedback, Expect, RecordingStore, run_session
from tests.app.fakes import fake_components, said


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
