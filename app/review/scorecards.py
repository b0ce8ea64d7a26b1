"""Scorecards and the team view: stored score rows (``call_scores``) grouped by ISO week.

Pure functions over the rows ``Repository.score_rows`` returns, so scorecards keep counting
calls whose transcript the retention sweep has removed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from app.review.schema import (
    AgentSummary,
    RuleFeedback,
    Scorecard,
    ScoredCall,
    WeekStats,
)
from app.review.scoring import LABELS, WEIGHTS

PART_KEYS = tuple(WEIGHTS)
# A distress change counts as reduced when the end is this much below the start.
REDUCED_BY = 0.05


def _mean(values: Iterable[float | None]) -> float | None:
    xs = [v for v in values if v is not None]
    return round(sum(xs) / len(xs), 1) if xs else None


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _reduced(row: Mapping[str, Any]) -> bool | None:
    s, e = row["distress_start"], row["distress_end"]
    if s is None or e is None:
        return None
    return bool(s - e >= REDUCED_BY)


def week_start(week: str) -> date:
    year, num = week.split("-W")
    return date.fromisocalendar(int(year), int(num), 1)


def stats(week: str, rows: Sequence[Mapping[str, Any]]) -> WeekStats:
    """Means of the score parts and nudge counts over ``rows``."""
    nudges = [r["nudges"] for r in rows]
    shown = sum(int(n.get("shown", 0)) for n in nudges)
    taken = sum(int(n.get("taken_up", 0)) for n in nudges)
    helpful = sum(int(n.get("helpful", 0)) for n in nudges)
    not_helpful = sum(int(n.get("not_helpful", 0)) for n in nudges)
    reduced = [_reduced(r) for r in rows]
    return WeekStats(
        week=week,
        week_start=week_start(week) if "-W" in week else min(r["call_date"] for r in rows),
        calls=len(rows),
        overall=_mean(r["overall"] for r in rows),
        parts={k: _mean((r["parts"].get(k) or {}).get("score") for r in rows) for k in PART_KEYS},
        nudges_shown=shown,
        nudges_taken_up=taken,
        nudges_rated_helpful=helpful,
        nudges_rated_not_helpful=not_helpful,
        uptake_rate=_rate(taken, shown),
        helpful_rate=_rate(helpful, helpful + not_helpful),
        calls_distress_reduced=sum(1 for x in reduced if x),
        calls_with_distress=sum(1 for x in reduced if x is not None),
    )


def weekly(rows: Sequence[Mapping[str, Any]]) -> list[WeekStats]:
    by_week: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_week.setdefault(r["week"], []).append(r)
    return [stats(w, by_week[w]) for w in sorted(by_week, key=week_start)]


def scorecard(agent_id: str, rows: Sequence[Mapping[str, Any]]) -> Scorecard:
    return Scorecard(
        agent_id=agent_id,
        weeks=weekly(rows),
        calls=[
            ScoredCall(
                call_id=r["call_id"], call_date=r["call_date"], overall=r["overall"],
                distress_start=r["distress_start"], distress_end=r["distress_end"],
                good_moments=r["good_moments"], missed_moments=r["missed_moments"],
            )
            for r in reversed(rows)
        ],
        totals=stats("all", rows) if rows else None,
    )


def agent_summaries(rows: Sequence[Mapping[str, Any]]) -> list[AgentSummary]:
    by_agent: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_agent.setdefault(r["agent_id"], []).append(r)
    out = []
    for agent_id in sorted(by_agent):
        s = stats("all", by_agent[agent_id])
        out.append(AgentSummary(
            agent_id=agent_id, calls=s.calls, overall=s.overall, parts=s.parts,
            uptake_rate=s.uptake_rate, helpful_rate=s.helpful_rate,
            distress_reduced_share=_rate(s.calls_distress_reduced, s.calls_with_distress),
        ))
    return out


def unhelpful_rules(rows: Sequence[Mapping[str, Any]]) -> list[RuleFeedback]:
    """Rules agents rated not helpful or dismissed, worst first (input for the playbook)."""
    per: dict[str, dict[str, int]] = {}
    for r in rows:
        for rule, counts in (r["rules"] or {}).items():
            b = per.setdefault(rule, {})
            for k, v in counts.items():
                b[k] = b.get(k, 0) + int(v)
    out = []
    for rule, b in per.items():
        if not (b.get("not_helpful", 0) or b.get("dismissed", 0)):
            continue
        rated = b.get("helpful", 0) + b.get("not_helpful", 0)
        out.append(RuleFeedback(
            rule_id=rule, shown=b.get("shown", 0), taken_up=b.get("taken_up", 0),
            dismissed=b.get("dismissed", 0), helpful=b.get("helpful", 0),
            not_helpful=b.get("not_helpful", 0),
            not_helpful_rate=_rate(b.get("not_helpful", 0), rated),
            dismiss_rate=_rate(b.get("dismissed", 0), b.get("shown", 0)),
        ))
    out.sort(key=lambda x: (-(x.not_helpful_rate or 0.0), -(x.dismiss_rate or 0.0), x.rule_id))
    return out


CSV_COLUMNS = (
    "agent_id", "week", "call_date", "call_id", "duration_s", "overall",
    *(f"{k}" for k in PART_KEYS),
    "distress_start", "distress_end", "good_moments", "missed_moments",
    "nudges_shown", "nudges_taken_up", "nudges_helpful", "nudges_not_helpful",
)


def scorecards_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line per scored call (purged calls have an empty call_id), score parts as columns."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        parts = r["parts"]
        n = r["nudges"]
        w.writerow([
            r["agent_id"], r["week"], r["call_date"].isoformat(), r["call_id"] or "",
            round(r["duration_s"], 1), "" if r["overall"] is None else r["overall"],
            *("" if (parts.get(k) or {}).get("score") is None else parts[k]["score"]
              for k in PART_KEYS),
            "" if r["distress_start"] is None else round(r["distress_start"], 3),
            "" if r["distress_end"] is None else round(r["distress_end"], 3),
            r["good_moments"], r["missed_moments"],
            n.get("shown", 0), n.get("taken_up", 0), n.get("helpful", 0),
            n.get("not_helpful", 0),
        ])
    return buf.getvalue()


__all__ = [
    "CSV_COLUMNS", "LABELS", "PART_KEYS", "agent_summaries", "scorecard", "scorecards_csv",
    "stats", "unhelpful_rules", "weekly",
]
