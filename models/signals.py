"""The classifier's output: what the caller's recent words say about their state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

CONCERNS: tuple[str, ...] = (
    "fear",  # fear / anxiety
    "sadness",  # sadness / grief
    "frustration",  # frustration / anger
    "confusion",
    "isolation",  # isolation / loneliness
    "pain",  # pain / physical distress
    "gratitude",  # gratitude / relief
    "crisis",  # self-harm, suicidal talk, medical red flags
)

Trend = Literal["rising", "steady", "falling"]


# An urgent red flag lifts the text's distress to at least this.
CRISIS_DISTRESS_FLOOR = 0.85


@dataclass(frozen=True, slots=True)
class TextScore:
    """Scores for one piece of text, before any smoothing."""

    distress: float
    concerns: Mapping[str, float]
    crisis: bool
    evidence: str
    crisis_phrases: tuple[str, ...] = ()
    truncated: bool = False
    # Red flags raised by this text: "self_harm", "emergency" (both urgent, ``crisis``) and
    # "safety_check" (ambiguous hopelessness: a gentle safety question, no escalation).
    red_flags: tuple[str, ...] = ()
    # Those of ``red_flags`` that are about someone other than the caller ("my husband says
    # he's going to kill himself"): the same urgency, a different conversation.
    about_others: tuple[str, ...] = ()
    # The reviewed patterns that raised ``self_harm`` here (none when the learned model alone
    # did), for the call's context (``models/call_context.py``).
    self_harm_patterns: tuple[str, ...] = ()
    # The self-harm flag was raised by the call's turns read together, not by this text alone.
    across_call: bool = False
    # The kinds of call cue the learned cue head reads in this text (``models/train_cues.py``:
    # "hopeless", "farewell", "burden", "plan"), for the call's context.
    cues: tuple[str, ...] = ()
    # The caller's words that carried the cue the head read most surely (a clause of the text).
    cue_evidence: str = ""


@dataclass(frozen=True, slots=True)
class Signals:
    """Smoothed state of the caller over the rolling window.

    ``distress`` and ``concerns`` are EMA-smoothed, 0..1. ``active`` names the concerns
    that are on after hysteresis (so they don't flicker). ``evidence`` is the caller's
    words that drove the score, quoted verbatim so a nudge can cite them.
    """

    at_s: float
    distress: float
    concerns: Mapping[str, float]
    trend: Trend
    crisis: bool = False
    distressed: bool = False
    active: frozenset[str] = field(default_factory=frozenset)
    evidence: str = ""
    evidence_start_s: float | None = None
    evidence_end_s: float | None = None
    # Red flags raised by a caller final still in the window ("self_harm", "emergency",
    # "safety_check"); ``crisis`` is true when an urgent one is among them.
    red_flags: frozenset[str] = field(default_factory=frozenset)
    # Those of ``red_flags`` raised only about someone other than the caller, by every
    # final in the window that raised them.
    about_others: frozenset[str] = field(default_factory=frozenset)
