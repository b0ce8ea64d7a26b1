"""Liveness and readiness (no auth: probes), and Prometheus metrics (a token, unless the
``metrics_public`` setting lets a scraper in)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.auth import request_principal
from app.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 once the models are loaded, the store is writing and a new call would be admitted;
    503 before, on failure, or at capacity (``max_calls`` reached or ASR lagging more than
    ``admit_max_asr_lag_s``), so a load balancer sends the next call elsewhere."""
    calls = request.app.state.calls
    store = request.app.state.store
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
    body = {
        "ready": ready,
        "error": error,
        "active_calls": len(calls.live()),
        "at_capacity": full,
        "asr_lag_s": round(calls.asr_lag_s(), 3),
        "models": calls.components.describe if calls.components else None,
        "store": {
            "failing": store.failing,
            "late_writes": store.late_writes,
            "write_errors": store.write_errors,
        },
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus metrics; a supervisor or admin token unless ``metrics_public`` is set."""
    if not request.app.state.settings.metrics_public:
        request_principal(request, "supervisor", "admin")
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
