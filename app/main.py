"""The FastAPI application: ``create_app(settings)``.

Start-up (lifespan): migrate the store, start its writer, start the event bus, load the
playbook, then load the models in the background; ``/readyz`` turns 200 when they are in.
Calls that arrive earlier wait for the models (``ready_wait_s``).

Shutdown: ``CareCueServer`` (uvicorn's server, as ``carecue serve`` runs it) stops accepting
connections and drains every ingest adapter (AudioHook ``reconnect``, the others stopped and
closed 1001) *before* uvicorn closes the remaining sockets and the lifespan ends the calls.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI, Request

from app.auth import TokenSigner, load_or_create_secret
from app.bus import iso, make_bus
from app.calls import CallManager, PlaybookState
from app.components import Components, load_components
from app.metrics import Metrics
from app.session import SessionConfig
from app.settings import Settings
from app.store import EnvelopeOp, Store

log = logging.getLogger("carecue.app")

# How far past the stored maximum seq a restarted process starts. Events published but not
# stored when a process died (partials are never stored; durable events may still have been
# queued, at most the store queue's 10,000) all lie below it.
RESTART_SEQ_MARGIN = 1_000_000
ORPHAN_CHECK_S = 10.0  # several instances: how often calls of a dead instance are looked for

ComponentsFactory = Callable[[Settings, Metrics], Components]

# Routers mounted by ``create_app``: module paths, each module exposes ``router``.
# Ingest adapters go in INGEST_ROUTERS (one line each). They are all part of this package, so
# a missing one is an install error and fails start-up.
INGEST_ROUTERS: tuple[str, ...] = (
    "app.ingest.native",
    "app.ingest.twilio",
    "app.ingest.audiohook",
    "app.ingest.fork",
    "app.ingest.vosk_compat",
    "app.ingest.audiosocket",  # no routes: starts the TCP listener when configured
)
SERVICE_ROUTERS: tuple[str, ...] = (
    "app.routes.health",
    "app.routes.calls",
    "app.routes.playbook",
    "app.routes.analytics",
    "app.routes.events",
)
# Pages (agent console, supervisor wallboard) and other optional routers.
PAGE_ROUTERS: tuple[str, ...] = ("app.web.routes",)


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
    signer = TokenSigner(load_or_create_secret(settings.auth_secret, settings.data_dir))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(store.migrate)
        dangling = await asyncio.to_thread(store.repo.open_calls)
        await store.start()
        # A killed process may have published events (partials, and durable ones still in
        # the write queue) above the stored maximum: seq restarts well past it, so no seq
        # is ever issued twice and a client's ``since`` never skips a new event.
        await bus.start(await asyncio.to_thread(store.repo.max_seq) + RESTART_SEQ_MARGIN)
        await _end_dangling_calls(dangling, "server_restart")
        calls.playbook = await asyncio.to_thread(_initial_playbook, store, settings)
        loader = asyncio.create_task(_load_models(), name="load-models")
        keepers = [asyncio.create_task(calls.hold_live_calls(), name="hold-calls")]
        if settings.redis_url:
            keepers.append(asyncio.create_task(_reap_orphans(), name="reap-orphans"))
        try:
            yield
        finally:
            for task in keepers:
                task.cancel()
            await calls.shutdown()
            loader.cancel()
            await asyncio.gather(loader, *keepers, return_exceptions=True)
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

        Open calls in the store that this instance runs, or that another live instance holds
        (``EventBus.hold_calls``; several instances on one Redis), are left alone; each
        orphan is ended by one instance only.
        """
        local = set(calls.live_ids())
        dangling = [c for c in dangling if c["call_id"] not in local]
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
            msg = await bus.publish(
                c["call_id"],
                c["agent_id"],
                "call.ended",
                {
                    "call_id": c["call_id"],
                    "agent_id": c["agent_id"],
                    "source": c["source"],
                    "started_at": iso(started),
                    "ended_at": iso(now),
                    # until the crash, as far as anyone can tell: the last event is unknown
                    "duration_s": round(max(0.0, (now - started).total_seconds()), 3),
                    "reason": reason,
                    "max_distress": round(c["max_distress"], 4),
                },
            )
            await store.enqueue(EnvelopeOp(msg.envelope, c["agent_id"], True))
        await store.flush()

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
    for name in (*SERVICE_ROUTERS, *INGEST_ROUTERS, *PAGE_ROUTERS):
        _include(app, name)
    return app


def _include(app: FastAPI, module_name: str) -> None:
    module: Any = importlib.import_module(module_name)
    app.include_router(module.router)


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
