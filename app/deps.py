"""Typed FastAPI dependencies: what a route takes from the running service.

``create_app`` builds the service objects once and keeps them on ``app.state``; routes never
read ``app.state`` themselves but declare what they need, e.g.::

    @router.get("/v1/calls")
    async def list_calls(store: StoreDep, principal: AnyPrincipal) -> CallList: ...

The getters take an ``HTTPConnection``, so the same aliases serve HTTP routes and websockets.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.auth import TokenSigner
from app.bus import EventBus
from app.calls import CallManager
from app.metrics import Metrics
from app.practice.service import PracticeService, build_practice_service
from app.review import Reviewer, reviewer_for
from app.revocation import Revocations
from app.settings import Settings
from app.store import Store


def get_settings(conn: HTTPConnection) -> Settings:
    """The service settings, validated once at start-up."""
    settings: Settings = conn.app.state.settings
    return settings


def get_store(conn: HTTPConnection) -> Store:
    """The store (its writer queue and repository)."""
    store: Store = conn.app.state.store
    return store


def get_calls(conn: HTTPConnection) -> CallManager:
    """The live calls of this instance, the playbook in force and the loaded models."""
    calls: CallManager = conn.app.state.calls
    return calls


def get_bus(conn: HTTPConnection) -> EventBus:
    """The event bus (in-process or Redis)."""
    bus: EventBus = conn.app.state.bus
    return bus


def get_metrics(conn: HTTPConnection) -> Metrics:
    """The Prometheus metrics of this process."""
    metrics: Metrics = conn.app.state.metrics
    return metrics


def get_signer(conn: HTTPConnection) -> TokenSigner:
    """The token signer (creates and checks the service's bearer tokens)."""
    signer: TokenSigner = conn.app.state.signer
    return signer


def get_revocations(conn: HTTPConnection) -> Revocations:
    """The revoked token ids, refreshed from the store; a socket watches its own token."""
    revocations: Revocations = conn.app.state.revocations
    return revocations


def get_reviewer(conn: HTTPConnection) -> Reviewer:
    """The after-call reviewer for the playbook in force (rebuilt when the playbook changes)."""
    return reviewer_for(conn.app.state)



def get_practice(conn: HTTPConnection) -> PracticeService:
    """The practice scenarios and patient voice (loaded on first use, then kept)."""
    service: PracticeService | None = getattr(conn.app.state, "practice", None)
    if service is None:
        service = build_practice_service(get_settings(conn))
        conn.app.state.practice = service
    return service


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
CallsDep = Annotated[CallManager, Depends(get_calls)]
BusDep = Annotated[EventBus, Depends(get_bus)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SignerDep = Annotated[TokenSigner, Depends(get_signer)]
RevocationsDep = Annotated[Revocations, Depends(get_revocations)]
ReviewerDep = Annotated[Reviewer, Depends(get_reviewer)]
PracticeDep = Annotated[PracticeService, Depends(get_practice)]
