"""``WS /v1/agents/{agent_id}/events`` and ``WS /v1/supervisor/events``.

Each socket gets its own bounded ``ClientQueue`` (policy in ``app.delivery``); a sender task
drains it while this handler reads the agent's ``nudge.feedback`` messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect

from app.auth import AuthError, Principal, websocket_principal
from app.bus import BusMessage
from app.calls import CallManager
from app.delivery import CLOSE_TOO_SLOW, Stream, open_stream
from app.deps import BusDep, CallsDep, MetricsDep, SettingsDep, StoreDep
from app.metrics import Metrics
from app.session import UnknownNudge
from app.settings import Settings
from app.wsclose import close_with_error

log = logging.getLogger("carecue.events")

router = APIRouter(tags=["events"])

_FEEDBACK_ACTIONS = ("accepted", "dismissed", "helpful", "not_helpful")
_MAX_CLIENT_MESSAGE = 4096


def _since(ws: WebSocket) -> int | None:
    raw = ws.query_params.get("since")
    if raw is None or raw == "":
        return None
    value = int(raw)
    if value < 0:
        raise ValueError("since must be >= 0")
    return value


async def _sender(ws: WebSocket, stream: Stream, metrics: Metrics) -> None:
    queue = stream.queue
    for old in stream.replay:
        await ws.send_json(old)
        queue.last_sent = old["seq"]
    while True:
        env = await queue.get()
        if env is None:
            metrics.clients_closed_slow.inc()
            await close_with_error(
                ws,
                "too_slow",
                f"client fell behind; reconnect with since={queue.last_sent}",
                CLOSE_TOO_SLOW,
            )
            return
        await ws.send_json(env)


async def _receiver(ws: WebSocket, principal: Principal, calls: CallManager) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            await ws.send_json(
                {"type": "error", "code": "unsupported_data", "message": "send JSON text"}
            )
            continue
        if len(text) > _MAX_CLIENT_MESSAGE:
            await ws.send_json({"type": "error", "code": "too_big", "message": "message too big"})
            continue
        try:
            msg: Any = json.loads(text)
        except ValueError:
            await ws.send_json(
                {"type": "error", "code": "malformed_json", "message": "not valid JSON"}
            )
            continue
        if not isinstance(msg, dict) or msg.get("type") != "nudge.feedback":
            await ws.send_json(
                {"type": "error", "code": "unknown_message", "message": "expected nudge.feedback"}
            )
            continue
        nudge_id, action = msg.get("nudge_id"), msg.get("action")
        if not isinstance(nudge_id, str) or action not in _FEEDBACK_ACTIONS:
            await ws.send_json(
                {
                    "type": "error",
                    "code": "bad_feedback",
                    "message": f"need nudge_id and action in {', '.join(_FEEDBACK_ACTIONS)}",
                }
            )
            continue
        agent = principal.agent_id if principal.role == "agent" else None
        try:
            await calls.feedback(agent, nudge_id, action)
        except UnknownNudge:
            await ws.send_json(
                {"type": "error", "code": "unknown_nudge", "message": "no such nudge on your calls"}
            )


def origin_allowed(ws: WebSocket, settings: Settings) -> bool:
    """A browser's Origin must be this service's own, or one the settings allow. Clients
    that send no Origin (scripts, platforms) are judged by their token alone."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/")
    host = ws.headers.get("host", "")
    if origin in (f"http://{host}", f"https://{host}"):
        return True
    return origin in settings.origins() or origin == settings.base_url()


class _Service:
    """What an event socket uses of the service (the route's dependencies, together)."""

    def __init__(
        self, settings: SettingsDep, store: StoreDep, bus: BusDep, calls: CallsDep,
        metrics: MetricsDep,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.calls = calls
        self.metrics = metrics


ServiceDep = Annotated[_Service, Depends()]


async def _serve(
    ws: WebSocket,
    service: _Service,
    principal: Principal,
    accept: Any,
    kind: str,
    stream_agent: str | None,
) -> None:
    settings, calls, metrics = service.settings, service.calls, service.metrics
    if not origin_allowed(ws, settings):
        await close_with_error(ws, "bad_origin", "this origin may not open CareCue sockets", 1008)
        return
    try:
        since = _since(ws)
    except ValueError:
        await close_with_error(ws, "bad_since", "since must be a non-negative integer", 1008)
        return
    await ws.accept()
    stream = await open_stream(
        bus=service.bus,
        store=service.store,
        accept=accept,
        since=since,
        capacity=settings.client_queue_size,
        replay_limit=settings.replay_limit,
        active_calls=lambda: calls.live_ids(stream_agent),
        agent_id=stream_agent,
        metrics=metrics,
    )
    gauge = metrics.ws_clients.labels(kind)
    gauge.inc()
    send = asyncio.create_task(_sender(ws, stream, metrics), name=f"ws-send-{kind}")
    recv = asyncio.create_task(_receiver(ws, principal, calls), name=f"ws-recv-{kind}")
    try:
        done, _pending = await asyncio.wait({send, recv}, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            exc = t.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                log.warning(
                    "event socket ended with an error", extra={"kind": kind, "err": repr(exc)}
                )
    finally:
        stream.unsubscribe()
        gauge.dec()
        for t in (send, recv):
            t.cancel()
        await asyncio.gather(send, recv, return_exceptions=True)
        with contextlib.suppress(Exception):
            await ws.close()


@router.websocket("/v1/agents/{agent_id}/events")
async def agent_events(ws: WebSocket, service: ServiceDep, agent_id: str) -> None:
    """One agent's calls: transcripts, signals, nudges, urgent escalations; ``?since=SEQ``."""
    try:
        principal = websocket_principal(ws, ("agent", "supervisor", "admin"))
    except AuthError as exc:
        await close_with_error(ws, exc.code, exc.message, 1008)
        return
    if not principal.may_see_agent(agent_id):
        await close_with_error(ws, "forbidden", "this token is for another agent", 1008)
        return

    def accept(msg: BusMessage) -> bool:
        return msg.agent_id == agent_id and msg.to_agent

    await _serve(ws, service, principal, accept, "agent", agent_id)


@router.websocket("/v1/supervisor/events")
async def supervisor_events(ws: WebSocket, service: ServiceDep) -> None:
    """Every call and every escalation. ``?since=SEQ`` resumes."""
    try:
        principal = websocket_principal(ws, ("supervisor", "admin"))
    except AuthError as exc:
        await close_with_error(ws, exc.code, exc.message, 1008)
        return
    await _serve(ws, service, principal, lambda _m: True, "supervisor", None)
