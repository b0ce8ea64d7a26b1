"""The FastAPI application: ``create_app(settings)``.

Start-up (lifespan): migrate the store, load the revoked token ids, start the store's writer,
start the event bus, load the playbook, then load the models in the background; ``/readyz``
turns 200 when they are in. Calls that arrive earlier wait for the models (``ready_wait_s``).

Shutdown: ``CareCueServer`` (uvicorn's server, as ``carecue serve`` runs it) stops accepting
connections and drains every ingest adapter (AudioHook ``reconnect``, the others stopped and
closed 1001) *before* uvicorn closes the remaining sockets and the lifespan ends the calls.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request

from app.auth import TokenSigner, load_or_create_secret
from app.bus import iso, make_bus
from app.calls import CallManager, PlaybookState
from app.components import Components, load_components
from app.contract import CallEndedData
from app.ingest.audiohook import router as audiohook_router
from app.ingest.audiosocket import router as audiosocket_router
from app.ingest.fork import router as fork_router
from app.ingest.native import router as native_router
from app.ingest.twilio import router as twilio_router
from app.ingest.vosk_compat import router as vosk_router
from app.metrics import Metrics
from app.practice.routes import router as practice_router
from app.revocation import Revocations
from app.routes.analytics import router as analytics_router
from app.routes.calls import router as calls_router
from app.routes.coaching import router as coaching_router
from app.routes.events import router as events_router
from app.routes.health import router as health_router
from app.routes.playbook import router as playbook_router
from app.routes.review import router as review_router
from app.session import SessionConfig
from app.settings import Settings
from app.store import EnvelopeOp, Store
from app.web.coaching_pages import router as coaching_pages_router
from app.web.routes import router as pages_router

log = logging.getLogger("carecue.app")

# How far past the stored maximum seq a restarted process starts. Events published but not
# stored when a process died (partials are never stored; durable events may still have been
# queued, at most the store queue's 10,000) all lie below it.
RESTART_SEQ_MARGIN = 1_000_000
# How often the retention sweep runs when CARECUE_RETENTION_DAYS is set (also at start-up).
RETENTION_INTERVAL_S = 3600.0
ORPHAN_CHECK_S = 10.0  # several instances: how often calls of a dead instance are looked for

ComponentsFactory = Callable[[Settings, Metrics], Components]

# Routers mounted by ``create_app``. Ingest adapters go in INGEST_ROUTERS (one line each).
INGEST_ROUTERS: tuple[APIRouter, ...] = (
    native_router,
    twilio_router,
    audiohook_router,
    fork_router,
    vosk_router,
    audiosocket_router,  # no routes: starts the TCP listener when configured
)
SERVICE_ROUTERS: tuple[APIRouter, ...] = (
    health_router,
    calls_router,
    playbook_router,
    analytics_router,
    review_router,
    events_router,
    coaching_router,
    practice_router,
)
# Pages (agent console, supervisor wallboard) and other optional routers.
PAGE_ROUTERS: tuple[APIRouter, ...] = (pages_router, coaching_pages_router)


def _initial_playbook(store: Store, settings: Settings) -> PlaybookState:
    from nudges.playbook import DEFAULT_PLAYBOOK_PATH, parse_playbook

    if settings.playbook_path is not None:
        # An explicit file wins at start-up and becomes the newest stored version.
        path = settings.playbook_path
        text = path.read_text(encoding="utf-8")
        pb = parse_playbook(text, str(path))
        latest = store.repo.latest_playbook()
        if latest is not None and latest[1] == text:
            return PlaybookState(pb, text, str(path), latest[0])
        version = store.repo.save_playbook(text, str(path), "settings")
        return PlaybookState(pb, text, str(path), version)
    latest = store.repo.latest_playbook()
    if latest is not None:
        version, text, source = latest
        return PlaybookState(parse_playbook(text, source), text, source, version)
    text = DEFAULT_PLAYBOOK_PATH.read_text(encoding="utf-8")
    return PlaybookState(parse_playbook(text, str(DEFAULT_PLAYBOOK_PATH)), text, "default", None)


def create_app(
    settings: Settings | None = None,
    *,
    components_factory: ComponentsFactory | None = None,
    bus_prefix: str = "carecue",
) -> FastAPI:
    """Build the service. ``components_factory`` replaces the real models (tests)."""
    settings = settings or Settings()
    factory = components_factory or load_components
    metrics = Metrics()
    store = Store(settings.resolved_database_url())
    bus = make_bus(settings.redis_url, settings.ring_size, settings.redis_stream_maxlen, bus_prefix)
    calls = CallManager(
        bus=bus,
        store=store,
        metrics=metrics,
        config=SessionConfig(
            track_queue_frames=settings.track_queue_frames,
            tick_interval_s=settings.tick_interval_s,
            degraded_lag_s=settings.degraded_lag_s,
        ),
        max_calls=settings.max_calls,
        admit_max_asr_lag_s=settings.admit_max_asr_lag_s,
        ready_wait_s=settings.ready_wait_s,
    )
    revocations = Revocations(store.repo.revoked_token_ids, settings.revocation_refresh_s)
    signer = TokenSigner(
        load_or_create_secret(settings.auth_secret, settings.data_dir), revoked=revocations
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(store.migrate)
        # Revoked tokens are refused from the first request on, then reloaded periodically.
        await revocations.refresh()
        reloader = asyncio.create_task(revocations.run(), name="revocations")
        dangling = await asyncio.to_thread(store.repo.open_calls)
        await store.start()
        # A killed process may have published events (partials, and durable ones still in
        # the write queue) above the stored maximum: seq restarts well past it, so no seq
        # is ever issued twice and a client's ``since`` never skips a new event.
        await bus.start(await asyncio.to_thread(store.repo.max_seq) + RESTART_SEQ_MARGIN)
        await _end_dangling_calls(dangling, "server_restart")
        calls.playbook = await asyncio.to_thread(_initial_playbook, store, settings)
        loader = asyncio.create_task(_load_models(), name="load-models")
        background = [loader, reloader]
        if settings.retention_days is not None:
            background.append(asyncio.create_task(_retention(app), name="retention"))
        keepers = [asyncio.create_task(calls.hold_live_calls(), name="hold-calls")]
        if settings.redis_url:
            keepers.append(asyncio.create_task(_reap_orphans(), name="reap-orphans"))
        try:
            yield
        finally:
            for task in keepers:
                task.cancel()
            await calls.shutdown()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, *keepers, return_exceptions=True)
            if calls.components is not None:
                calls.components.close()
            await store.close()
            await bus.close()

    async def _reap_orphans() -> None:
        """Several instances: end calls whose instance died (its holds expired), once."""
        while True:
            await asyncio.sleep(ORPHAN_CHECK_S)
            try:
                open_calls = await asyncio.to_thread(store.repo.open_calls)
                await _end_dangling_calls(open_calls, "instance_lost")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("orphaned call check failed")

    async def _end_dangling_calls(dangling: list[dict[str, Any]], reason: str) -> None:
        """Calls no live instance runs can never resume: end them where agents see it.

        Open calls in the store that this instance runs or has just ended (its ``call.ended``
        not yet written), or that another live instance holds (``EventBus.hold_calls``;
        several instances on one Redis), are left alone; each orphan is ended by one instance
        only.
        """
        dangling = [c for c in dangling if not calls.taken_here(c["call_id"])]
        if not dangling:
            return
        elsewhere = await bus.held_elsewhere([c["call_id"] for c in dangling])
        dangling = [c for c in dangling if c["call_id"] not in elsewhere]
        dangling = [c for c in dangling if await bus.claim_once(f"end:{c['call_id']}", 3600)]
        if not dangling:
            return
        log.warning("ending calls no instance runs", extra={"calls": len(dangling),
                                                           "reason": reason})
        now = datetime.now(UTC)
        for c in dangling:
            started = c["started_at"] or now
            data = CallEndedData(
                call_id=c["call_id"],
                agent_id=c["agent_id"],
                source=c["source"],
                started_at=iso(started),
                ended_at=iso(now),
                # until the crash, as far as anyone can tell: the last event is unknown
                duration_s=round(max(0.0, (now - started).total_seconds()), 3),
                reason=reason,
                max_distress=round(c["max_distress"], 4),
            )
            msg = await bus.publish(
                c["call_id"], c["agent_id"], "call.ended", data.model_dump()
            )
            await store.enqueue(EnvelopeOp(msg.envelope, c["agent_id"], True))
        await store.flush()

    async def _retention(app: FastAPI) -> None:
        """Delete transcripts and text of calls older than the retention period, hourly."""
        from app.review import reviewer_for

        assert settings.retention_days is not None
        while True:
            try:
                await store.flush()
                reviewer = reviewer_for(app.state)
                await asyncio.to_thread(reviewer.sweep_retention, settings.retention_days)
            except Exception:  # the next sweep tries again; a failed one loses nothing
                log.exception("retention sweep failed")
            await asyncio.sleep(RETENTION_INTERVAL_S)

    async def _load_models() -> None:
        try:
            components = await asyncio.to_thread(factory, settings, metrics)
            if calls.playbook is not None:
                await asyncio.to_thread(components.prepare_playbook, calls.playbook.playbook)
            calls.components = components
        except Exception as exc:
            calls.load_error = f"{type(exc).__name__}: {exc}"
            log.exception("model loading failed")
        finally:
            calls.ready.set()

    app = FastAPI(
        title="CareCue",
        version="1",
        description="Real-time empathy assistant for medical support lines.",
        lifespan=lifespan,
        # served below behind a token: the API's shape is not for anyone on the network
        docs_url=None,
        openapi_url=None,
    )
    _add_security(app, settings)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.store = store
    app.state.bus = bus
    app.state.calls = calls
    app.state.signer = signer
    app.state.revocations = revocations
    for router in (*SERVICE_ROUTERS, *INGEST_ROUTERS, *PAGE_ROUTERS):
        app.include_router(router)
    return app


# The pages load only their own scripts and styles and talk to their own origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _add_security(app: FastAPI, settings: Settings) -> None:
    """Security headers on every HTTP response, and the API docs behind a token."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse, JSONResponse

    from app.auth import request_principal, token_from

    https = settings.base_url().startswith("https://")

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        if request.url.path != "/docs":  # Swagger UI needs its inline bootstrap script
            response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # page links carry tokens: never leak them to another site in a Referer
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if https:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response

    @app.get("/openapi.json", include_in_schema=False)
    async def _openapi(request: Request) -> JSONResponse:
        request_principal(request, "agent", "supervisor", "admin")
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def _docs(request: Request) -> HTMLResponse:
        request_principal(request, "agent", "supervisor", "admin")
        token = token_from(request.headers.get("authorization"), request.query_params.get("token"))
        return get_swagger_ui_html(openapi_url=f"/openapi.json?token={token}", title="CareCue API")


class CareCueServer(uvicorn.Server):
    """uvicorn's server with the ingest drain in front of its shutdown.

    uvicorn closes every websocket (1012) before the app's lifespan shutdown runs, which
    would end each live call as dropped and give Genesys no ``reconnect``. This runs on
    SIGTERM/SIGINT (and ``should_exit``): stop accepting, drain, then uvicorn's own shutdown.
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app

    async def shutdown(self, sockets: Any = None) -> None:
        from app.ingest.lifecycle import drain_ingest

        for server in self.servers:
            server.close()  # no new sessions land here while the old ones move away
        try:
            await drain_ingest(self.app)
        except Exception:  # a failed drain must not stop the rest of the shutdown
            log.exception("ingest drain failed")
        await super().shutdown(sockets)


def port_in_use(host: str, port: int) -> bool:
    """True when ``port`` cannot be bound on ``host`` (another server already listens there)."""
    with socket.socket() as s:
        # as uvicorn binds: connections of a previous run in TIME_WAIT (a restart after a
        # crash) must not count as a server listening there
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False
