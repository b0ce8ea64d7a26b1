"""Self-harm judgement on whole calls, in both directions (issue 9, thirteenth round).

A call set (``models/data/crisis_calls_*.jsonl``) holds multi-turn calls written blind: risk
calls where no single caller turn states intent (``label`` ``self_harm``, with
``escalate_at``, the caller turn after which a careful clinical lead would escalate) and hard
ordinary calls with the same surface words (``none``: bereavement admin, a worn-down caller,
end of life or a move, chronic illness).

``evaluate_calls`` plays each call's caller turns through a ``WindowScorer`` in fake time
(8 s a turn) and reports, side by side, **recall** (risk calls the self-harm flag was raised
in, for the caller), **precision**, the **false-alarm rate** (ordinary calls escalated), when
the flag came against ``escalate_at`` (at or before it, or later), and per category.

Used by ``bench/classifier_bench.py`` (``crisis_calls`` in ``bench/results/classifier.json``)
and by the tests.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asr.types import TranscriptFinal
from models.clock import FakeClock
from models.scorer import ScorerConfig, TextClassifier, WindowScorer

DATA = Path(__file__).resolve().parent / "data"
CALLS_DESIGN_PATH = DATA / "crisis_calls_design.jsonl"
CALLS_HELDOUT13_PATH = DATA / "crisis_calls_heldout13.jsonl"
CALLS_REVIEW13_PATH = DATA / "crisis_calls_review13.jsonl"
CALLS_TRAIN14_PATH = DATA / "crisis_calls_train14.jsonl"
CALLS_HELDOUT14_PATH = DATA / "crisis_calls_heldout14.jsonl"
# Issue 9, fifteenth round: 64 calls (32 indirect risk, 32 hard ordinary) by a helper session
# that opened nothing of the repository; read as aggregates only (the card counts the reads).
CALLS_HELDOUT15_PATH = DATA / "crisis_calls_heldout15.jsonl"
# Issue 9, sixteenth round: 64 more calls by another helper session that opened nothing of the
# repository; read as aggregates only.
CALLS_HELDOUT16_PATH = DATA / "crisis_calls_heldout16.jsonl"
# Issue 9, seventeenth round: 32 calls (16 indirect risk, 16 hard ordinary) by two more helper
# sessions that opened nothing of the repository; read as aggregates only.
CALLS_HELDOUT17_PATH = DATA / "crisis_calls_heldout17.jsonl"
# Kept back for the seventeenth round's last measurement: 32 more calls by two other helper
# sessions that opened nothing of the repository.
CALLS_HELDOUT18_PATH = DATA / "crisis_calls_heldout18.jsonl"
# Every call set by name, the training sets first (the design set, and train14 that the
# fourteenth round trained the red-flag model and the cue head on); the others are held out
# (never tuned on).
TRAINING_CALL_SETS = ("design", "train14")
CALL_SETS = {
    "design": CALLS_DESIGN_PATH,
    "train14": CALLS_TRAIN14_PATH,
    "heldout13": CALLS_HELDOUT13_PATH,
    "review13": CALLS_REVIEW13_PATH,
    "heldout14": CALLS_HELDOUT14_PATH,
    "heldout15": CALLS_HELDOUT15_PATH,
    "heldout16": CALLS_HELDOUT16_PATH,
    "heldout17": CALLS_HELDOUT17_PATH,
    "heldout18": CALLS_HELDOUT18_PATH,
}
TURN_S = 8.0


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: str
    text: str


@dataclass(frozen=True, slots=True)
class Call:
    id: str
    label: str
    category: str
    form: str
    escalate_at: int | None
    turns: tuple[Turn, ...]


def load_calls(path: Path) -> list[Call]:
    """The calls of a call set, checked: every risk call's ``escalate_at`` is a caller turn."""
    calls = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            d: dict[str, Any] = json.loads(line)
            turns = tuple(Turn(t["speaker"], t["text"]) for t in d["turns"])
            call = Call(d["id"], d["label"], d["category"], d["form"], d["escalate_at"], turns)
            if call.label not in ("self_harm", "none"):
                raise ValueError(f"{path.name}:{n}: label must be self_harm or none")
            at = call.escalate_at
            if (call.label == "self_harm") != (at is not None) or (
                at is not None and (not 0 <= at < len(turns) or turns[at].speaker != "caller")
            ):
                raise ValueError(
                    f"{path.name}:{n}: escalate_at must name a caller turn of a risk call"
                )
            calls.append(call)
    return calls


def first_escalation(clf: TextClassifier, call: Call, context: bool = True) -> int | None:
    """The index of the caller turn after which the caller's own self-harm flag is up, or None."""
    clock = FakeClock()
    scorer = WindowScorer(clf, clock, config=ScorerConfig(call_context=context))
    for i, turn in enumerate(call.turns):
        clock.advance(TURN_S)
        if turn.speaker != "caller":
            continue
        now = clock.now()
        s = scorer.add_final(TranscriptFinal("caller", turn.text, now - TURN_S / 2, now))
        if "self_harm" in s.red_flags and "self_harm" not in s.about_others:
            return i
    return None


def evaluate_calls(
    clf: TextClassifier, calls: Sequence[Call], context: bool = True
) -> dict[str, object]:
    """Recall, precision, false alarms and timing of the self-harm flag over ``calls``."""
    firsts = [first_escalation(clf, c, context) for c in calls]
    risk = [(c, f) for c, f in zip(calls, firsts, strict=True) if c.label == "self_harm"]
    ordinary = [(c, f) for c, f in zip(calls, firsts, strict=True) if c.label == "none"]
    caught = [(c, f) for c, f in risk if f is not None]
    alarms = sum(f is not None for _, f in ordinary)
    raised = len(caught) + alarms
    by_cat: dict[str, list[bool]] = defaultdict(list)
    for c, f in zip(calls, firsts, strict=True):
        by_cat[c.category].append(f is not None)
    return {
        "n": len(calls),
        "n_risk": len(risk),
        "n_ordinary": len(ordinary),
        "recall": len(caught) / len(risk) if risk else None,
        "precision": len(caught) / raised if raised else None,
        "false_alarm_rate": alarms / len(ordinary) if ordinary else None,
        "in_time": sum(f <= c.escalate_at for c, f in caught),  # type: ignore[operator]
        "later": sum(f > c.escalate_at for c, f in caught),  # type: ignore[operator]
        "by_category": {
            cat: {
                "measure": "recall" if cat in {c.category for c, _ in risk} else "escalated",
                "rate": sum(v) / len(v),
                "n": len(v),
            }
            for cat, v in sorted(by_cat.items())
        },
    }
