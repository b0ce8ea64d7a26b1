"""Reads and writes on the store. Blocking (SQLAlchemy sync): call from threads, never the loop.

Writes arrive as ``StoreOp`` batches from the single writer thread (``app.store.writer``);
most are derived from published envelopes, so what an agent saw is exactly what is stored.
Envelope data is read with the contract's models (``app.contract``); one that does not match
them is kept in the event log but not projected into the call tables.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.contract import (
    EVENT_TYPES,
    CallEndedData,
    CallStartedData,
    EscalationData,
    NudgeCreatedData,
    NudgeResolvedData,
    SignalsData,
    TranscriptData,
)
from app.store.models import (
    CallRow,
    CallScoreRow,
    CoachingNoteRow,
    EscalationRow,
    EventRow,
    FeedbackRow,
    NudgeRow,
    PlaybookRow,
    SegmentRow,
    SignalRow,
    TokenRevocationRow,
)

log = logging.getLogger("carecue.store")

# The ``source`` of calls made in practice mode (app/practice/routes.py): kept out of scores.
PRACTICE_SOURCE = "practice"
# Practice calls' ids, typed or by microphone (app/practice/routes.py mints them). The
# supervisor's floor never shows them: a trainee's scripted crisis is not a live escalation.
# A platform call may not take an id with this prefix (``CallRegistry.open_call``).
PRACTICE_CALL_PREFIX = "practice-"


def is_practice_call(call_id: str) -> bool:
    return call_id.startswith(PRACTICE_CALL_PREFIX)

# Envelope types that are kept in the event log and replayed with ``since``. Partials are
# superseded by their final, so they are live-only.
DURABLE_TYPES = frozenset(
    {
        "call.started",
        "call.ended",
        "transcript.final",
        "signals.updated",
        "nudge.created",
        "nudge.resolved",
        "escalation",
        "call.error",
        "call.degraded",
        "call.recovered",
    }
)


def utc(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def iso(dt: datetime | None) -> str | None:
    d = utc(dt)
    return d.isoformat(timespec="milliseconds").replace("+00:00", "Z") if d else None


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class EnvelopeOp:
    """Persist one published envelope (and its table rows)."""

    envelope: dict[str, Any]
    agent_id: str
    to_agent: bool


@dataclass(frozen=True, slots=True)
class FeedbackOp:
    call_id: str
    nudge_id: str
    rule_id: str
    agent_id: str
    action: str
    at: datetime


StoreOp = EnvelopeOp | FeedbackOp


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    call_id: str
    agent_id: str
    to_agent: bool
    type: str
    at: datetime
    data: dict[str, Any]

    def envelope(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "seq": self.seq,
            "call_id": self.call_id,
            "at": iso(self.at),
            "data": self.data,
        }


def _parse_data(kind: str, call_id: str, data: Any) -> BaseModel | None:
    """The event's data as its contract model; ``None`` (logged, no data) when it breaks it."""
    entry = EVENT_TYPES.get(kind)
    if entry is None:
        return None
    try:
        return entry[0].model_validate(data)
    except ValidationError as exc:
        # the envelope is still logged and replayed; only the call tables go without it
        log.warning(
            "stored event does not match the contract; not projected",
            extra={"type": kind, "call_id": call_id, "errors": exc.error_count()},
        )
        return None


class Repository:
    """All SQL lives here."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # ---- writes -------------------------------------------------------------------------

    def apply(self, ops: Sequence[StoreOp]) -> None:
        """Apply a batch in one transaction, in order."""
        with Session(self.engine) as s, s.begin():
            for op in ops:
                if isinstance(op, FeedbackOp):
                    s.add(
                        FeedbackRow(
                            call_id=op.call_id,
                            nudge_id=op.nudge_id,
                            rule_id=op.rule_id,
                            agent_id=op.agent_id,
                            action=op.action,
                            at=op.at,
                        )
                    )
                else:
                    self._apply_envelope(s, op)
                s.flush()

    def _apply_envelope(self, s: Session, op: EnvelopeOp) -> None:
        env = op.envelope
        kind, call_id, data = env["type"], env["call_id"], env["data"]
        at = parse_iso(env["at"]) or datetime.now(UTC)
        if kind not in DURABLE_TYPES:
            return
        parsed = _parse_data(kind, call_id, data)
        if isinstance(parsed, CallStartedData):
            s.merge(
                CallRow(
                    call_id=call_id,
                    agent_id=op.agent_id,
                    source=parsed.source,
                    started_at=parse_iso(parsed.started_at) or at,
                    playbook_version=parsed.playbook_version,
                    custom=dict(parsed.custom),
                    max_distress=0.0,
                )
            )
        elif isinstance(parsed, CallEndedData):
            s.execute(
                update(CallRow)
                .where(CallRow.call_id == call_id)
                .values(
                    ended_at=parse_iso(parsed.ended_at) or at,
                    end_reason=parsed.reason,
                    max_distress=parsed.max_distress,
                )
            )
        elif isinstance(parsed, TranscriptData):
            s.add(
                SegmentRow(
                    call_id=call_id,
                    segment_id=parsed.segment_id,
                    speaker=parsed.speaker,
                    text=parsed.text,
                    start_s=parsed.start_s,
                    end_s=parsed.end_s,
                    at=at,
                )
            )
        elif isinstance(parsed, SignalsData):
            s.add(
                SignalRow(
                    call_id=call_id,
                    at=at,
                    at_s=parsed.at_s,
                    distress=parsed.distress,
                    concerns=dict(parsed.concerns),
                    trend=parsed.trend,
                    crisis=parsed.crisis,
                    active=list(parsed.active),
                )
            )
        elif isinstance(parsed, NudgeCreatedData):
            s.add(
                NudgeRow(
                    nudge_id=parsed.nudge_id,
                    call_id=call_id,
                    rule_id=parsed.rule_id,
                    title=parsed.title,
                    suggestion=parsed.suggestion or "",
                    reason=parsed.reason,
                    priority=parsed.priority,
                    escalate=parsed.escalate,
                    created_at=at,
                    at_s=parsed.at_s,
                    expires_at=parse_iso(parsed.expires_at),
                    latency_s=parsed.latency_s,
                )
            )
        elif isinstance(parsed, NudgeResolvedData):
            s.execute(
                update(NudgeRow)
                .where(NudgeRow.nudge_id == parsed.nudge_id, NudgeRow.resolved_how.is_(None))
                .values(resolved_how=parsed.how, resolved_at=at)
            )
        elif isinstance(parsed, EscalationData):
            s.add(
                EscalationRow(
                    call_id=call_id,
                    nudge_id=parsed.nudge_id,
                    rule_id=parsed.rule_id,
                    severity=parsed.severity,
                    reason=parsed.reason,
                    at=at,
                )
            )
        s.add(
            EventRow(
                seq=int(env["seq"]),
                call_id=call_id,
                agent_id=op.agent_id,
                to_agent=op.to_agent,
                type=kind,
                at=at,
                data=data,
            )
        )

    # ---- event log ----------------------------------------------------------------------

    def max_seq(self) -> int:
        with Session(self.engine) as s:
            return int(s.scalar(select(func.max(EventRow.seq))) or 0)

    def events_since(
        self,
        since: int,
        *,
        agent_id: str | None = None,
        upto: int | None = None,
        limit: int = 50_000,
    ) -> list[StoredEvent]:
        """Events with ``since < seq <= upto``; for an agent only its calls' agent-visible ones."""
        q = select(EventRow).where(EventRow.seq > since)
        if upto is not None:
            q = q.where(EventRow.seq <= upto)
        if agent_id is not None:
            q = q.where(EventRow.agent_id == agent_id, EventRow.to_agent.is_(True))
        q = q.order_by(EventRow.seq).limit(limit)
        with Session(self.engine) as s:
            return [self._stored(r) for r in s.scalars(q)]

    def events_for_calls(
        self, call_ids: Sequence[str], *, upto: int | None = None, limit: int = 50_000
    ) -> list[StoredEvent]:
        """All logged events of the given calls (for a client joining calls in progress)."""
        if not call_ids:
            return []
        q = select(EventRow).where(EventRow.call_id.in_(list(call_ids)))
        if upto is not None:
            q = q.where(EventRow.seq <= upto)
        q = q.order_by(EventRow.seq).limit(limit)
        with Session(self.engine) as s:
            return [self._stored(r) for r in s.scalars(q)]

    @staticmethod
    def _stored(r: EventRow) -> StoredEvent:
        return StoredEvent(
            seq=r.seq,
            call_id=r.call_id,
            agent_id=r.agent_id,
            to_agent=r.to_agent,
            type=r.type,
            at=utc(r.at) or r.at,
            data=r.data,
        )

    # ---- calls --------------------------------------------------------------------------

    def list_calls(
        self,
        *,
        agent_id: str | None = None,
        active: bool | None = None,
        practice: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Newest first. ``practice``: true for practice calls only, false for real ones."""
        q = select(CallRow).order_by(CallRow.started_at.desc()).limit(limit).offset(offset)
        if agent_id is not None:
            q = q.where(CallRow.agent_id == agent_id)
        if practice is not None:
            is_practice = CallRow.call_id.startswith(PRACTICE_CALL_PREFIX, autoescape=True)
            q = q.where(is_practice if practice else ~is_practice)
        if active is not None:
            q = q.where(CallRow.ended_at.is_(None) if active else CallRow.ended_at.is_not(None))
        with Session(self.engine) as s:
            calls = list(s.scalars(q))
            ids = [c.call_id for c in calls]
            counts: dict[str, int] = {}
            if ids:
                rows = s.execute(
                    select(NudgeRow.call_id, func.count())
                    .where(NudgeRow.call_id.in_(ids))
                    .group_by(NudgeRow.call_id)
                )
                counts = {cid: int(n) for cid, n in rows}
            return [self._call_summary(c, counts.get(c.call_id, 0)) for c in calls]

    @staticmethod
    def _call_summary(c: CallRow, nudges: int) -> dict[str, Any]:
        return {
            "call_id": c.call_id,
            "agent_id": c.agent_id,
            "source": c.source,
            "started_at": iso(c.started_at),
            "ended_at": iso(c.ended_at),
            "end_reason": c.end_reason,
            "active": c.ended_at is None,
            "max_distress": c.max_distress,
            "playbook_version": c.playbook_version,
            "nudge_count": nudges,
        }

    def get_call(self, call_id: str) -> dict[str, Any] | None:
        """One call with its transcript, signals timeline, nudges, feedback and escalations."""
        with Session(self.engine) as s:
            c = s.get(CallRow, call_id)
            if c is None:
                return None
            segs = s.scalars(
                select(SegmentRow).where(SegmentRow.call_id == call_id).order_by(SegmentRow.id)
            )
            sigs = s.scalars(
                select(SignalRow).where(SignalRow.call_id == call_id).order_by(SignalRow.id)
            )
            nudges = s.scalars(
                select(NudgeRow).where(NudgeRow.call_id == call_id).order_by(NudgeRow.at_s)
            )
            fbs = s.scalars(
                select(FeedbackRow).where(FeedbackRow.call_id == call_id).order_by(FeedbackRow.id)
            )
            escs = s.scalars(
                select(EscalationRow)
                .where(EscalationRow.call_id == call_id)
                .order_by(EscalationRow.id)
            )
            out = self._call_summary(c, 0)
            out["custom"] = c.custom
            out["transcript"] = [
                {
                    "segment_id": g.segment_id,
                    "speaker": g.speaker,
                    "text": g.text,
                    "start_s": g.start_s,
                    "end_s": g.end_s,
                }
                for g in segs
            ]
            out["signals"] = [
                {
                    "at": iso(g.at),
                    "at_s": g.at_s,
                    "distress": g.distress,
                    "concerns": g.concerns,
                    "trend": g.trend,
                    "crisis": g.crisis,
                    "active": g.active,
                }
                for g in sigs
            ]
            out["nudges"] = [
                {
                    "nudge_id": n.nudge_id,
                    "rule_id": n.rule_id,
                    "title": n.title,
                    "suggestion": n.suggestion,
                    "reason": n.reason,
                    "priority": n.priority,
                    "escalate": n.escalate,
                    "created_at": iso(n.created_at),
                    "at_s": n.at_s,
                    "expires_at": iso(n.expires_at),
                    "latency_s": n.latency_s,
                    "resolved_how": n.resolved_how,
                    "resolved_at": iso(n.resolved_at),
                }
                for n in nudges
            ]
            out["nudge_count"] = len(out["nudges"])
            out["feedback"] = [
                {
                    "nudge_id": f.nudge_id,
                    "rule_id": f.rule_id,
                    "agent_id": f.agent_id,
                    "action": f.action,
                    "at": iso(f.at),
                }
                for f in fbs
            ]
            out["escalations"] = [
                {
                    "nudge_id": e.nudge_id,
                    "rule_id": e.rule_id,
                    "severity": e.severity,
                    "reason": e.reason,
                    "at": iso(e.at),
                }
                for e in escs
            ]
            return out

    def stored_call_ids(self, call_ids: Sequence[str]) -> set[str]:
        """Which of ``call_ids`` already have a call record (ended, live, or left open)."""
        if not call_ids:
            return set()
        with Session(self.engine) as s:
            q = select(CallRow.call_id).where(CallRow.call_id.in_(list(call_ids)))
            return {str(r) for r in s.scalars(q)}

    def nudge_owner(self, nudge_id: str) -> tuple[str, str, str] | None:
        """``(call_id, agent_id, rule_id)`` of a stored nudge."""
        with Session(self.engine) as s:
            row = s.execute(
                select(NudgeRow.call_id, CallRow.agent_id, NudgeRow.rule_id)
                .join(CallRow, CallRow.call_id == NudgeRow.call_id)
                .where(NudgeRow.nudge_id == nudge_id)
            ).first()
            return (row[0], row[1], row[2]) if row else None

    def open_calls(self) -> list[dict[str, Any]]:
        """Calls with no end: at start-up, the ones a crash or kill left open."""
        with Session(self.engine) as s:
            rows = s.execute(
                select(
                    CallRow.call_id,
                    CallRow.agent_id,
                    CallRow.source,
                    CallRow.started_at,
                    CallRow.max_distress,
                )
                .where(CallRow.ended_at.is_(None))
                .order_by(CallRow.started_at)
            ).all()
        return [
            {
                "call_id": r[0],
                "agent_id": r[1],
                "source": r[2],
                "started_at": utc(r[3]),
                "max_distress": float(r[4] or 0.0),
            }
            for r in rows
        ]

    # ---- analytics ----------------------------------------------------------------------

    def nudge_analytics(self, *, agent_id: str | None = None) -> list[dict[str, Any]]:
        """Per rule: how often shown, accepted, dismissed, said, rated helpful, and the rates."""
        with Session(self.engine) as s:
            nq = select(NudgeRow.rule_id, NudgeRow.nudge_id, NudgeRow.resolved_how)
            fq = select(FeedbackRow.rule_id, FeedbackRow.nudge_id, FeedbackRow.action)
            if agent_id is not None:
                nq = nq.join(CallRow, CallRow.call_id == NudgeRow.call_id).where(
                    CallRow.agent_id == agent_id
                )
                fq = fq.where(FeedbackRow.agent_id == agent_id)
            nudges = list(s.execute(nq))
            feedback = list(s.execute(fq))
        per: dict[str, dict[str, Any]] = {}

        def bucket(rule: str) -> dict[str, Any]:
            return per.setdefault(
                rule,
                {
                    "rule_id": rule,
                    "shown": 0,
                    "accepted": 0,
                    "dismissed": 0,
                    "agent_said": 0,
                    "expired": 0,
                    "helpful": 0,
                    "not_helpful": 0,
                },
            )

        accepted: set[str] = set()
        dismissed: set[str] = set()
        for rule, nid, how in nudges:
            b = bucket(rule)
            b["shown"] += 1
            if how == "agent_said":
                b["agent_said"] += 1
            elif how == "expired":
                b["expired"] += 1
            elif how == "accepted":
                accepted.add(nid)
            elif how == "dismissed":
                dismissed.add(nid)
        helpful: dict[str, str] = {}
        for _rule, nid, action in feedback:
            if action == "accepted":
                accepted.add(nid)
            elif action == "dismissed":
                dismissed.add(nid)
            elif action in ("helpful", "not_helpful"):
                helpful[nid] = action  # the last rating of a nudge counts
        rule_of = {nid: rule for rule, nid, _ in nudges}
        rule_of.update({nid: rule for rule, nid, _ in feedback if nid not in rule_of})
        for nid in accepted:
            bucket(rule_of[nid])["accepted"] += 1
        for nid in dismissed - accepted:
            bucket(rule_of[nid])["dismissed"] += 1
        for nid, action in helpful.items():
            bucket(rule_of[nid])[action] += 1
        out = []
        for b in sorted(per.values(), key=lambda x: x["rule_id"]):
            shown = b["shown"]
            rated = b["helpful"] + b["not_helpful"]
            b["accept_rate"] = round(b["accepted"] / shown, 4) if shown else None
            b["dismiss_rate"] = round(b["dismissed"] / shown, 4) if shown else None
            b["said_rate"] = round(b["agent_said"] / shown, 4) if shown else None
            b["helpful_rate"] = round(b["helpful"] / rated, 4) if rated else None
            out.append(b)
        return out

    # ---- coaching notes -----------------------------------------------------------------

    @staticmethod
    def _note(n: CoachingNoteRow) -> dict[str, Any]:
        return {
            "note_id": n.id,
            "call_id": n.call_id,
            "at_s": n.at_s,
            "text": n.text,
            "author": n.author,
            "author_role": n.author_role,
            "created_at": iso(n.created_at),
        }

    def add_note(self, call_id: str, at_s: float, text: str, author: str,
                 author_role: str) -> dict[str, Any]:
        """Store a coaching note on a call (which must exist)."""
        with Session(self.engine) as s, s.begin():
            row = CoachingNoteRow(call_id=call_id, at_s=at_s, text=text, author=author,
                                  author_role=author_role, created_at=datetime.now(UTC))
            s.add(row)
            s.flush()
            return self._note(row)

    def list_notes(self, call_id: str) -> list[dict[str, Any]]:
        """A call's coaching notes by moment in the call."""
        with Session(self.engine) as s:
            rows = s.scalars(
                select(CoachingNoteRow)
                .where(CoachingNoteRow.call_id == call_id)
                .order_by(CoachingNoteRow.at_s, CoachingNoteRow.id)
            )
            return [self._note(n) for n in rows]

    def get_note(self, call_id: str, note_id: int) -> dict[str, Any] | None:
        with Session(self.engine) as s:
            row = s.get(CoachingNoteRow, note_id)
            return self._note(row) if row is not None and row.call_id == call_id else None

    def delete_note(self, call_id: str, note_id: int) -> bool:
        with Session(self.engine) as s, s.begin():
            row = s.get(CoachingNoteRow, note_id)
            if row is None or row.call_id != call_id:
                return False
            s.delete(row)
            return True

    # ---- playbooks ----------------------------------------------------------------------

    def latest_playbook(self) -> tuple[int, str, str] | None:
        """``(version, text, source)`` of the newest stored playbook."""
        with Session(self.engine) as s:
            row = s.scalars(
                select(PlaybookRow).order_by(PlaybookRow.version.desc()).limit(1)
            ).first()
            return (row.version, row.text, row.source) if row else None

    def latest_playbook_version(self) -> int | None:
        with Session(self.engine) as s:
            v = s.scalar(select(func.max(PlaybookRow.version)))
            return int(v) if v is not None else None

    def save_playbook(self, text: str, source: str, created_by: str | None) -> int:
        with Session(self.engine) as s, s.begin():
            row = PlaybookRow(
                text=text, source=source, created_at=datetime.now(UTC), created_by=created_by
            )
            s.add(row)
            s.flush()
            return int(row.version)

    # ---- token revocations --------------------------------------------------------------

    def revoke_token(
        self,
        token_id: str,
        *,
        expires_at: datetime | None = None,
        role: str | None = None,
        agent_id: str | None = None,
        subject: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Record a revoked token id; ``False`` if it was revoked already."""
        with Session(self.engine) as s:
            if s.get(TokenRevocationRow, token_id) is not None:
                return False
            s.add(
                TokenRevocationRow(
                    token_id=token_id,
                    revoked_at=datetime.now(UTC),
                    expires_at=expires_at,
                    role=role,
                    agent_id=agent_id,
                    subject=subject,
                    reason=reason,
                )
            )
            try:
                s.commit()
            except IntegrityError:  # another instance revoked it at the same moment
                return False
        return True

    def revoked_token_ids(self, now: datetime | None = None) -> set[str]:
        """Ids of revoked tokens that have not expired yet (expired ones are refused anyway)."""
        now = now or datetime.now(UTC)
        with Session(self.engine) as s:
            rows = s.scalars(
                select(TokenRevocationRow.token_id).where(
                    or_(TokenRevocationRow.expires_at.is_(None),
                        TokenRevocationRow.expires_at > now)
                )
            )
            return set(rows)

    def token_revocations(self) -> list[dict[str, Any]]:
        """Every recorded revocation, newest first."""
        with Session(self.engine) as s:
            rows = s.scalars(
                select(TokenRevocationRow).order_by(
                    TokenRevocationRow.revoked_at.desc(), TokenRevocationRow.token_id
                )
            )
            return [
                {
                    "token_id": r.token_id,
                    "revoked_at": iso(r.revoked_at),
                    "expires_at": iso(r.expires_at),
                    "role": r.role,
                    "agent_id": r.agent_id,
                    "subject": r.subject,
                    "reason": r.reason,
                }
                for r in rows
            ]

    def prune_token_revocations(self, now: datetime | None = None) -> int:
        """Delete revocations of tokens that have expired; how many went."""
        now = now or datetime.now(UTC)
        with Session(self.engine) as s, s.begin():
            result = s.execute(
                delete(TokenRevocationRow).where(TokenRevocationRow.expires_at <= now)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # ---- empathy scores (app.review) ----------------------------------------------------

    def calls_to_score(self, version: int, limit: int = 200) -> list[str]:
        """Ended calls with no score, a score of an older ``version``, or feedback newer than
        their score (an agent may rate a nudge after the call), oldest first.

        Practice calls (``source`` "practice", or a microphone one's ``custom.practice``) are
        never scored: their review is computed when asked for, and scorecards, the team view
        and the CSV count real calls only."""
        with Session(self.engine) as s:
            newest_feedback = (
                select(func.max(FeedbackRow.at))
                .where(FeedbackRow.call_id == CallRow.call_id)
                .scalar_subquery()
            )
            q = (
                select(CallRow.call_id)
                .outerjoin(CallScoreRow, CallScoreRow.call_id == CallRow.call_id)
                .where(CallRow.ended_at.is_not(None))
                .where(CallRow.source != PRACTICE_SOURCE)
                .where(CallRow.custom["practice"].as_string().is_(None))  # microphone practice
                .where(
                    or_(
                        CallScoreRow.id.is_(None),
                        CallScoreRow.version < version,
                        newest_feedback > CallScoreRow.scored_at,
                    )
                )
                .order_by(CallRow.started_at)
                .limit(limit)
            )
            return [str(r) for r in s.scalars(q)]

    def save_score(self, row: dict[str, Any]) -> None:
        """Insert or replace the score of ``row["call_id"]``."""
        with Session(self.engine) as s, s.begin():
            existing = s.scalars(
                select(CallScoreRow).where(CallScoreRow.call_id == row["call_id"])
            ).first()
            if existing is None:
                s.add(CallScoreRow(**row))
            else:
                for key, value in row.items():
                    setattr(existing, key, value)

    def score_rows(
        self, *, agent_id: str | None = None, since: date | None = None
    ) -> list[dict[str, Any]]:
        """Stored scores (oldest first), purged ones included (their ``call_id`` is None)."""
        q = select(CallScoreRow).order_by(CallScoreRow.call_date, CallScoreRow.id)
        if agent_id is not None:
            q = q.where(CallScoreRow.agent_id == agent_id)
        if since is not None:
            q = q.where(CallScoreRow.call_date >= since)
        with Session(self.engine) as s:
            return [
                {
                    "call_id": r.call_id,
                    "agent_id": r.agent_id,
                    "call_date": r.call_date,
                    "week": r.week,
                    "duration_s": r.duration_s,
                    "overall": r.overall,
                    "parts": r.parts,
                    "distress_start": r.distress_start,
                    "distress_end": r.distress_end,
                    "crisis": r.crisis,
                    "good_moments": r.good_moments,
                    "missed_moments": r.missed_moments,
                    "nudges": r.nudges,
                    "rules": r.rules,
                    "version": r.version,
                    "scored_at": utc(r.scored_at),
                    "purged": r.purged_at is not None,
                }
                for r in s.scalars(q)
            ]

    def calls_ended_before(self, cutoff: datetime, limit: int = 500) -> list[str]:
        """Ids of calls that ended before ``cutoff`` (candidates for the retention sweep)."""
        with Session(self.engine) as s:
            q = (
                select(CallRow.call_id)
                .where(CallRow.ended_at.is_not(None), CallRow.ended_at < cutoff)
                .order_by(CallRow.ended_at)
                .limit(limit)
            )
            return [str(r) for r in s.scalars(q)]

    def purge_calls(self, call_ids: Sequence[str], now: datetime) -> int:
        """Delete calls with their transcript, signals, nudges, feedback, escalations, coaching
        notes (they quote the call) and event log; their score rows stay, de-identified
        (``call_id`` set to NULL)."""
        if not call_ids:
            return 0
        ids = list(call_ids)
        with Session(self.engine) as s, s.begin():
            s.execute(
                update(CallScoreRow)
                .where(CallScoreRow.call_id.in_(ids))
                .values(call_id=None, purged_at=now)
            )
            for table in (SegmentRow, SignalRow, NudgeRow, FeedbackRow, EscalationRow, EventRow,
                          CoachingNoteRow):
                s.execute(delete(table).where(table.call_id.in_(ids)))
            result = s.execute(delete(CallRow).where(CallRow.call_id.in_(ids)))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]
