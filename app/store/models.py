"""Tables. Alembic migrations in ``app/store/migrations`` create them; keep the two in step."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CallRow(Base):
    __tablename__ = "calls"

    call_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(128), index=True)
    source: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    playbook_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    max_distress: Mapped[float] = mapped_column(Float, default=0.0)


class SegmentRow(Base):
    __tablename__ = "transcript_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id", ondelete="CASCADE"))
    segment_id: Mapped[str] = mapped_column(String(128))
    speaker: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_segments_call", "call_id", "start_s"),)


class SignalRow(Base):
    __tablename__ = "signals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    at_s: Mapped[float] = mapped_column(Float)
    distress: Mapped[float] = mapped_column(Float)
    concerns: Mapped[dict[str, float]] = mapped_column(JSON)
    trend: Mapped[str] = mapped_column(String(16))
    crisis: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[list[str]] = mapped_column(JSON, default=list)

    __table_args__ = (Index("ix_signals_call", "call_id", "at_s"),)


class NudgeRow(Base):
    __tablename__ = "nudges"

    nudge_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[str] = mapped_column(String(128), index=True)
    title: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16))
    escalate: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    at_s: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    latency_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolved_how: Mapped[str | None] = mapped_column(String(32), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class FeedbackRow(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    nudge_id: Mapped[str] = mapped_column(String(200), index=True)
    rule_id: Mapped[str] = mapped_column(String(128))
    agent_id: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EscalationRow(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    nudge_id: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EventRow(Base):
    """The event log that ``since=`` replays from. ``seq`` is the bus's global sequence."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    call_id: Mapped[str] = mapped_column(String(128), index=True)
    agent_id: Mapped[str] = mapped_column(String(128))
    to_agent: Mapped[bool] = mapped_column(Boolean, default=True)
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_events_agent_seq", "agent_id", "seq"),)


class PlaybookRow(Base):
    __tablename__ = "playbooks"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(128), nullable=True)


class TokenRevocationRow(Base):
    """A revoked token (``carecue token revoke``). Every instance refuses its id; the row
    can go once ``expires_at`` has passed (the token is refused as expired then anyway)."""

    __tablename__ = "token_revocations"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)

class CallScoreRow(Base):
    """A call's empathy score parts, de-identified: numbers only, no text.

    Written when a finished call is scored (``app.review``). The retention sweep deletes the
    call, its transcript and every text about it, sets ``call_id`` to NULL here and keeps the
    row, so scorecards and the team view still count the call.
    """

    __tablename__ = "call_scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True, unique=True)
    agent_id: Mapped[str] = mapped_column(String(128), index=True)
    call_date: Mapped[date] = mapped_column(Date, index=True)
    week: Mapped[str] = mapped_column(String(10))
    duration_s: Mapped[float] = mapped_column(Float)
    overall: Mapped[float | None] = mapped_column(Float, nullable=True)
    parts: Mapped[dict[str, Any]] = mapped_column(JSON)
    distress_start: Mapped[float | None] = mapped_column(Float, nullable=True)
    distress_end: Mapped[float | None] = mapped_column(Float, nullable=True)
    crisis: Mapped[bool] = mapped_column(Boolean, default=False)
    good_moments: Mapped[int] = mapped_column(Integer, default=0)
    missed_moments: Mapped[int] = mapped_column(Integer, default=0)
    nudges: Mapped[dict[str, int]] = mapped_column(JSON)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CoachingNoteRow(Base):
    """A trainer's (or the agent's) note at a moment of a stored call (coaching replay)."""

    __tablename__ = "coaching_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(
        ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    at_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    author_role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
