"""Nudge analytics: per rule, shown / accepted / dismissed / said / helpful."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from app.auth import SupervisorPrincipal
from app.contract import NudgeAnalytics
from app.deps import StoreDep

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


@router.get("/nudges")
async def nudge_analytics(
    store: StoreDep, principal: SupervisorPrincipal, agent_id: str | None = None
) -> NudgeAnalytics:
    """Counts and rates per rule (rates are of nudges shown; helpful_rate is of those rated)."""
    await store.flush()
    rules = await asyncio.to_thread(store.repo.nudge_analytics, agent_id=agent_id)
    return NudgeAnalytics.model_validate({"rules": rules, "agent_id": agent_id})
