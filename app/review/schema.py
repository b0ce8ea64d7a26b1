"""Response models of the review API: a call's review, an agent's scorecard, the team view.

Every score part carries the numbers it was computed from (``inputs``) and a sentence that
says how (``explanation``); a bare number is never the whole answer. ``docs/scoring.md``
defines each part.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

PartKey = Literal[
    "time_to_acknowledge",
    "concerns_acknowledged",
    "interruptions",
    "talk_share",
    "distress_change",
    "crisis_handling",
]
MomentType = Literal[
    "acknowledged_and_calmed",
    "concern_unacknowledged",
    "caller_cut_off",
    "long_silence",
    "crisis_protocol_missed",
]
NudgeOutcome = Literal["agent_said", "accepted", "dismissed", "expired", "call_ended", "open"]


class ScorePart(BaseModel):
    """One part of the empathy score, with what it was computed from."""

    key: PartKey
    label: str
    score: float | None = Field(description="0..100; None when the part does not apply")
    applicable: bool
    weight: float = Field(description="Weight in the overall score when applicable")
    inputs: dict[str, float | int | None] = Field(
        description="The observed numbers the part was computed from"
    )
    explanation: str


class EmpathyScore(BaseModel):
    overall: float | None = Field(description="Weighted mean of the applicable parts, 0..100")
    parts: list[ScorePart]
    version: int


class Moment(BaseModel):
    """A good or missed moment, anchored at transcript lines."""

    kind: Literal["good", "missed"]
    type: MomentType
    at_s: float
    title: str
    detail: str
    lines: list[int] = Field(description="Indexes into the review's transcript")
    distress_before: float | None = None
    distress_after: float | None = None


class TranscriptLine(BaseModel):
    index: int
    segment_id: str
    speaker: str
    text: str
    start_s: float
    end_s: float
    acknowledgement: bool = Field(description="The agent acknowledged the caller here")
    distress_after: float | None = Field(
        default=None, description="Caller lines: the distress reading this line produced"
    )
    moments: list[int] = Field(default_factory=list, description="Indexes into moments")


class DistressPoint(BaseModel):
    at_s: float
    distress: float
    trend: str
    crisis: bool
    concerns: list[str]


class ReviewNudge(BaseModel):
    nudge_id: str
    rule_id: str
    title: str
    suggestion: str
    reason: str
    priority: str
    at_s: float
    outcome: NudgeOutcome
    helpful: bool | None = Field(description="The agent's last rating; None when not rated")
    feedback: list[str]


class CallReview(BaseModel):
    call_id: str
    agent_id: str
    source: str
    started_at: str | None
    ended_at: str | None
    active: bool
    duration_s: float
    transcript: list[TranscriptLine]
    distress: list[DistressPoint]
    nudges: list[ReviewNudge]
    moments: list[Moment]
    score: EmpathyScore
    summary: str


class PartTrend(BaseModel):
    key: PartKey
    label: str
    values: list[float | None] = Field(description="Mean score per week, aligned with weeks")


class WeekStats(BaseModel):
    week: str = Field(description="ISO week, e.g. 2026-W48")
    week_start: date
    calls: int
    overall: float | None
    parts: dict[str, float | None]
    nudges_shown: int
    nudges_taken_up: int = Field(description="Said by the agent or accepted")
    nudges_rated_helpful: int
    nudges_rated_not_helpful: int
    uptake_rate: float | None
    helpful_rate: float | None
    calls_distress_reduced: int
    calls_with_distress: int


class ScoredCall(BaseModel):
    call_id: str | None = Field(description="None once the retention sweep removed the call")
    call_date: date
    overall: float | None
    distress_start: float | None
    distress_end: float | None
    good_moments: int
    missed_moments: int


class Scorecard(BaseModel):
    agent_id: str
    weeks: list[WeekStats]
    calls: list[ScoredCall]
    totals: WeekStats | None


class AgentSummary(BaseModel):
    agent_id: str
    calls: int
    overall: float | None
    parts: dict[str, float | None]
    uptake_rate: float | None
    helpful_rate: float | None
    distress_reduced_share: float | None


class RuleFeedback(BaseModel):
    rule_id: str
    shown: int
    taken_up: int
    dismissed: int
    helpful: int
    not_helpful: int
    not_helpful_rate: float | None
    dismiss_rate: float | None


class Recognition(BaseModel):
    """A short excerpt where the agent's words visibly calmed the caller."""

    call_id: str
    agent_id: str
    at_s: float
    caller_before: str
    agent_said: str
    caller_after: str | None
    distress_before: float
    distress_after: float


class TeamView(BaseModel):
    weeks: list[WeekStats] = Field(description="The floor's trend, all agents together")
    agents: list[AgentSummary]
    unhelpful_rules: list[RuleFeedback]
    recognitions: list[Recognition]
