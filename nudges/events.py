"""Events the nudge engine consumes and emits. Immutable; times are seconds on the call clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Priority = Literal["info", "suggest", "urgent"]
ResolvedHow = Literal["agent_said", "accepted", "dismissed", "expired"]
FeedbackAction = Literal["accepted", "dismissed", "helpful", "not_helpful"]


@dataclass(frozen=True, slots=True)
class Feedback:
    """The agent pressed a button on a nudge card."""

    nudge_id: str
    action: FeedbackAction
    at_s: float


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed with nothing said; lets not-said rules, silences and expiries fire."""

    at_s: float


@dataclass(frozen=True, slots=True)
class NudgeCreated:
    nudge_id: str
    rule_id: str
    title: str
    suggestion: str
    reason: str
    priority: Priority
    at_s: float
    expires_at_s: float
    escalate: bool = False


@dataclass(frozen=True, slots=True)
class NudgeResolved:
    nudge_id: str
    rule_id: str
    how: ResolvedHow
    at_s: float


@dataclass(frozen=True, slots=True)
class Escalation:
    """A rule asks for a supervisor: sent to the supervisor stream (and the agent's when urgent)."""

    nudge_id: str
    rule_id: str
    severity: Priority
    reason: str
    at_s: float


NudgeEvent = NudgeCreated | NudgeResolved | Escalation
