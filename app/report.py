"""A per-call review report, computed from the stored call (``GET /v1/calls/{id}/report``)."""

from __future__ import annotations

from collections import Counter

from app.contract import CallDetail, CallReport, DistressSummary, ReportNudge


def build_report(call: CallDetail) -> CallReport:
    """Talk time per speaker, distress peak and trend, concerns seen, and each nudge's outcome."""
    talk: dict[str, float] = {}
    turns: Counter[str] = Counter()
    for seg in call.transcript:
        talk[seg.speaker] = talk.get(seg.speaker, 0.0) + max(0.0, seg.end_s - seg.start_s)
        turns[seg.speaker] += 1
    total_talk = sum(talk.values()) or 1.0
    signals = call.signals
    peak = max(signals, key=lambda s: s.distress, default=None)
    concerns: Counter[str] = Counter()
    for s in signals:
        for name in s.active:
            concerns[name] += 1
    feedback_by_nudge: dict[str, list[str]] = {}
    for f in call.feedback:
        feedback_by_nudge.setdefault(f.nudge_id, []).append(f.action)
    nudges = [
        ReportNudge(
            nudge_id=n.nudge_id,
            rule_id=n.rule_id,
            title=n.title,
            priority=n.priority,
            at_s=n.at_s,
            reason=n.reason,
            outcome=n.resolved_how or "open",
            feedback=feedback_by_nudge.get(n.nudge_id, []),
        )
        for n in call.nudges
    ]
    outcomes = Counter(n.outcome for n in nudges)
    return CallReport(
        call_id=call.call_id,
        agent_id=call.agent_id,
        source=call.source,
        started_at=call.started_at,
        ended_at=call.ended_at,
        end_reason=call.end_reason,
        talk_time_s={k: round(v, 2) for k, v in talk.items()},
        talk_share={k: round(v / total_talk, 3) for k, v in talk.items()},
        turns=dict(turns),
        distress=DistressSummary(
            peak=peak.distress if peak else 0.0,
            peak_at_s=peak.at_s if peak else None,
            final=signals[-1].distress if signals else 0.0,
            final_trend=signals[-1].trend if signals else None,
            samples=len(signals),
        ),
        concerns_seen=dict(concerns.most_common()),
        crisis=any(s.crisis for s in signals),
        nudges=nudges,
        nudge_outcomes=dict(outcomes),
        escalations=call.escalations,
    )
