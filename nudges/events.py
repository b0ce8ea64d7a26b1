"""Events the nudge engine consumes and emits. Immutable; times are seconds on the call clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Priority = Literal["info", "suggest", "urgent"]
# agent_said: the agent's words did it; accepted / dismissed: the agent's buttons; expired:
# its time ran out; superseded: an urgent protocol took over the screen; call_ended: the
# call ended with the nudge still open.
ResolvedHow = Literal[
    "agent_said", "accepted", "dismissed", "expired", "superseded", "call_ended"
]
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
    # What the engine saw, for the record and the curious ("fear 0.72", "said \"so scared\"");
    # the agent reads ``reason``, which is plain language with no scores.
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NudgeResolved:
    nudge_id: str
    rule_id: str
    how: ResolvedHow
    at_s: float
    # For agent_said: the words of the agent's sentence that did it.
    by: str | None = None


@dataclass(frozen=True, slots=True)
class Escalation:
    """A rule asks for a supervisor: sent to the supervisor stream (and the agent's when urgent)."""

    nudge_id: str
    rule_id: str
    severity: Priority
    reason: str
    at_s: float


NudgeEvent = NudgeCreated | NudgeResolved | Escalation
