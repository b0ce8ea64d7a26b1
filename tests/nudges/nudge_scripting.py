"""Helpers for replaying scripted calls through the nudge engine (imported by the tests)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from models.clock import FakeClock
from nudges.engine import NudgeEngine
from nudges.events import NudgeCreated, NudgeEvent, NudgeResolved
from nudges.playbook import Playbook, load_playbook
from nudges.replay import ScriptItem, load_script, replay_events, run

TRANSCRIPTS = Path(__file__).parent / "transcripts"


def script(name: str) -> list[ScriptItem]:
    return load_script(TRANSCRIPTS / f"{name}.jsonl")


def replay(
    items: Sequence[ScriptItem], playbook: Playbook | None = None, tail_s: float = 0.0
) -> list[NudgeEvent]:
    engine = NudgeEngine(playbook or load_playbook(), FakeClock())
    return run(engine, replay_events(items, tail_s=tail_s))


def summary(events: list[NudgeEvent]) -> list[tuple[str, str, float, str]]:
    """(kind, rule_id, at_s, how) per created/resolved event: the shape tests compare."""
    out = []
    for ev in events:
        if isinstance(ev, NudgeCreated):
            out.append(("created", ev.rule_id, ev.at_s, ev.nudge_id))
        elif isinstance(ev, NudgeResolved):
            out.append(("resolved", ev.rule_id, ev.at_s, ev.how))
    return out
