"""Replaying a stored call through the engine: transcript files and event scripts.

A transcript file has one JSON object per line: ``{"speaker", "text", "start_s", "end_s"}``.
A *script* (used by tests and benchmarks) may also contain lines that stand for the other
inputs of the engine: ``{"signals": {...}, "at_s": t}``, ``{"tick": t}`` and
``{"feedback": "accepted", "nudge_id": "n1", "at_s": t}``.

``replay_events`` orders the utterances by end time (when their finals would arrive),
inserts a ``Tick`` every ``tick_s`` seconds in between (as the live service's poll does),
and, when given a scorer, feeds each caller final to it and the resulting ``Signals`` to
the engine right after the final; after each tick it also passes on the scorer's
``current()`` signals, so that distress decays while the caller is quiet (as a live
session that polls the scorer would see it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from asr.types import TranscriptFinal
from models.signals import Signals
from nudges.engine import EngineInput, NudgeEngine
from nudges.events import Escalation, Feedback, NudgeCreated, NudgeEvent, NudgeResolved, Tick


class TranscriptError(ValueError):
    """A transcript or script line is not what we expect; names the line."""


class FinalScorer(Protocol):
    def add_final(self, final: TranscriptFinal) -> Signals: ...

    def current(self) -> Signals: ...


class ClockSetter(Protocol):
    def set(self, t: float) -> None: ...


ScriptItem = TranscriptFinal | Signals | Tick | Feedback


def _signals(data: dict[str, Any], at_s: float) -> Signals:
    return Signals(
        at_s=at_s,
        distress=float(data.get("distress", 0.0)),
        concerns={k: float(v) for k, v in data.get("concerns", {}).items()},
        trend=data.get("trend", "steady"),
        crisis=bool(data.get("crisis", False)),
        distressed=bool(data.get("distressed", False)),
        active=frozenset(data.get("active", ())),
        evidence=str(data.get("evidence", "")),
        evidence_start_s=data.get("evidence_start_s"),
        evidence_end_s=data.get("evidence_end_s"),
        red_flags=frozenset(data.get("red_flags", ())),
        about_others=frozenset(data.get("red_flags_about_others", ())),
    )


def parse_line(obj: dict[str, Any], where: str) -> ScriptItem:
    """One JSON object of a transcript or script as an engine input."""
    try:
        if "signals" in obj:
            return _signals(obj["signals"], float(obj["at_s"]))
        if "tick" in obj:
            return Tick(float(obj["tick"]))
        if "feedback" in obj:
            return Feedback(str(obj["nudge_id"]), obj["feedback"], float(obj["at_s"]))
        speaker = obj["speaker"]
        if speaker not in ("caller", "agent"):
            raise TranscriptError(f"{where}: speaker must be 'caller' or 'agent'")
        start, end = float(obj["start_s"]), float(obj["end_s"])
        if not (math.isfinite(start) and math.isfinite(end)) or end < start:
            raise TranscriptError(f"{where}: need start_s <= end_s")
        return TranscriptFinal(speaker=speaker, text=str(obj["text"]), start_s=start, end_s=end)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, TranscriptError):
            raise
        raise TranscriptError(f"{where}: {type(exc).__name__}: {exc}") from None


def load_script(path: Path) -> list[ScriptItem]:
    """Read a transcript or script file (JSON lines; blank lines and ``//`` comments skipped)."""
    items: list[ScriptItem] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"{path}:{n}: invalid JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise TranscriptError(f"{path}:{n}: expected a JSON object")
        items.append(parse_line(obj, f"{path}:{n}"))
    return items


def _time(item: ScriptItem) -> float:
    return item.end_s if isinstance(item, TranscriptFinal) else item.at_s


def replay_events(
    items: Iterable[ScriptItem],
    scorer: FinalScorer | None = None,
    clock: ClockSetter | None = None,
    tick_s: float = 1.0,
    tail_s: float = 0.0,
) -> Iterator[EngineInput]:
    """Engine inputs in arrival order, with ticks in between and scorer signals after finals.

    Items are stably sorted by time (a final arrives at its ``end_s``). ``clock`` (the
    scorer's ``FakeClock``) is set to each item's time before it is scored. ``tail_s`` adds
    ticks after the last item so that pending timers and expiries play out.
    """
    ordered = sorted(items, key=_time)
    last: float | None = None
    for item in ordered:
        t = _time(item)
        if last is not None and tick_s > 0:
            k = math.floor(last / tick_s) + 1
            while k * tick_s < t:
                yield from _tick(k * tick_s, scorer, clock)
                k += 1
        last = t if last is None else max(last, t)
        if clock is not None:
            clock.set(last)
        yield item
        if scorer is not None and isinstance(item, TranscriptFinal) and item.speaker == "caller":
            yield scorer.add_final(item)
    if last is not None and tick_s > 0 and tail_s > 0:
        k = math.floor(last / tick_s) + 1
        while k * tick_s <= last + tail_s:
            yield from _tick(k * tick_s, scorer, clock)
            k += 1


def _tick(t: float, scorer: FinalScorer | None, clock: ClockSetter | None) -> Iterator[EngineInput]:
    yield Tick(t)
    if scorer is not None:
        if clock is not None:
            clock.set(t)
        yield scorer.current()


def run(engine: NudgeEngine, inputs: Iterable[EngineInput]) -> list[NudgeEvent]:
    """Feed every input to the engine; all nudge events in order."""
    out: list[NudgeEvent] = []
    for event in inputs:
        out.extend(engine.handle(event))
    return out


def event_json(ev: NudgeEvent) -> dict[str, Any] | None:
    """The ``playbook explain`` line for a created/resolved event (None for escalations)."""
    if isinstance(ev, NudgeCreated):
        return {
            "at_s": round(ev.at_s, 3),
            "event": "created",
            "rule_id": ev.rule_id,
            "nudge_id": ev.nudge_id,
            "reason": ev.reason,
            "details": list(ev.details),
        }
    if isinstance(ev, NudgeResolved):
        line: dict[str, Any] = {
            "at_s": round(ev.at_s, 3),
            "event": "resolved",
            "rule_id": ev.rule_id,
            "nudge_id": ev.nudge_id,
            "reason": ev.how,
        }
        if ev.by is not None:
            line["by"] = ev.by  # the agent's words that did it
        return line
    assert isinstance(ev, Escalation)
    return None
