"""Liveness and readiness (no auth: probes), and Prometheus metrics (a token, unless the
``metrics_public`` setting lets a scraper in)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.auth import request_principal
from app.contract import Readiness, StoreHealth
from app.deps import CallsDep, MetricsDep, SettingsDep, StoreDep
from app.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": Readiness, "description": "Not ready"}})
async def readyz(calls: CallsDep, store: StoreDep, response: Response) -> Readiness:
    """200 once the models are loaded, the store is writing and a new call would be admitted;
    503 before, on failure, or at capacity (``max_calls`` reached or ASR lagging more than
    ``admit_max_asr_lag_s``), so a load balancer sends the next call elsewhere."""
    store_ok = store.healthy
    loaded = calls.ready.is_set() and calls.components is not None
    full, full_why = calls.capacity()
    ready = loaded and store_ok and not full
    store_error = (
        "the database is not taking writes; they are kept and retried"
        if store.failing
        else "the store writer is not running"
    )
    error = calls.load_error or (None if store_ok else store_error)
    if error is None and loaded:
        error = full_why
    response.status_code = 200 if ready else 503
    return Readiness(
        ready=ready,
        error=error,
        active_calls=len(calls.live()),
        at_capacity=full,
        asr_lag_s=round(calls.asr_lag_s(), 3),
        models=calls.components.describe if calls.components else None,
        store=StoreHealth(
            failing=store.failing,
            late_writes=store.late_writes,
            write_errors=store.write_errors,
        ),
    )


@router.get("/metrics")
async def metrics(
    request: Request, settings: SettingsDep, registry: MetricsDep
) -> Response:
    """Prometheus metrics; a supervisor or admin token unless ``metrics_public`` is set."""
    if not settings.metrics_public:
        request_principal(request, "supervisor", "admin")
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)
