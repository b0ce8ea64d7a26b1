"""After-call review: a call's review, agent scorecards, the team view and a CSV export.

A call's review (it quotes the transcript) is for its agent, supervisors and admins. A
scorecard is for supervisors, admins and the agent it is about; the team view (it quotes
excerpts of every agent's calls) for supervisors and admins.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from app.auth import AnyPrincipal, Principal, SupervisorPrincipal
from app.deps import ReviewerDep, StoreDep
from app.review import CallReview, Reviewer, Scorecard, TeamView
from app.review.scorecards import (
    agent_summaries,
    scorecard,
    scorecards_csv,
    unhelpful_rules,
    weekly,
)
from app.routes.calls import load_call_row
from app.store import Store

router = APIRouter(tags=["review"])
WEEKS = Query(12, ge=1, le=520, description="How many weeks back, this one included")


def _since(weeks: int) -> date:
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=weeks - 1)


def _forbid_other_agent(principal: Principal, agent_id: str) -> None:
    if not principal.may_see_agent(agent_id):
        raise HTTPException(
            403, detail={"code": "forbidden", "message": "agents see only their own scorecard"}
        )


async def _scored_rows(
    store: Store, reviewer: Reviewer, agent_id: str | None, since: date
) -> list[dict[str, Any]]:
    await store.flush()
    await asyncio.to_thread(reviewer.score_pending)
    return await asyncio.to_thread(store.repo.score_rows, agent_id=agent_id, since=since)


@router.get("/v1/calls/{call_id}/review", response_model=CallReview)
async def call_review(
    store: StoreDep, reviewer: ReviewerDep, principal: AnyPrincipal, call_id: str
) -> CallReview:
    """Transcript with moments, distress curve, nudges and outcomes, score parts, summary."""
    call = await load_call_row(store, principal, call_id)
    return await asyncio.to_thread(reviewer.review, call)


@router.get("/v1/agents/{agent_id}/scorecard", response_model=Scorecard)
async def agent_scorecard(
    store: StoreDep,
    reviewer: ReviewerDep,
    principal: AnyPrincipal,
    agent_id: str,
    weeks: int = WEEKS,
) -> Scorecard:
    """Weekly means of each score part, nudge uptake and helpfulness, distress reduced."""
    _forbid_other_agent(principal, agent_id)
    rows = await _scored_rows(store, reviewer, agent_id, _since(weeks))
    return scorecard(agent_id, rows)


@router.get("/v1/team", response_model=TeamView)
async def team(
    store: StoreDep, reviewer: ReviewerDep, principal: SupervisorPrincipal, weeks: int = WEEKS
) -> TeamView:
    """Agents side by side, the floor's weekly trend, unhelpful rules, moments to recognise."""
    since = _since(weeks)
    rows = await _scored_rows(store, reviewer, None, since)
    recognitions = await asyncio.to_thread(reviewer.recognitions, rows)
    return TeamView(
        weeks=weekly(rows),
        agents=agent_summaries(rows),
        unhelpful_rules=unhelpful_rules(rows),
        recognitions=recognitions,
    )


@router.get("/v1/scorecards.csv", response_class=Response)
async def scorecards_export(
    store: StoreDep,
    reviewer: ReviewerDep,
    principal: AnyPrincipal,
    agent_id: str | None = None,
    weeks: int = WEEKS,
) -> Response:
    """One CSV line per scored call. Agents get their own lines whatever ``agent_id`` says."""
    if principal.role == "agent":
        agent_id = principal.agent_id
    rows = await _scored_rows(store, reviewer, agent_id, _since(weeks))
    name = f"carecue-scorecards-{agent_id or 'team'}-{datetime.now(UTC).date()}.csv"
    return Response(
        scorecards_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
