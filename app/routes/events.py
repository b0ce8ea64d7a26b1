"""``WS /v1/agents/{agent_id}/events`` and ``WS /v1/supervisor/events``.

Each socket gets its own bounded ``ClientQueue`` (policy in ``app.delivery``); a sender task
drains it while this handler reads the agent's ``nudge.feedback`` messages.

Authentication: a token in ``Authorization: Bearer`` or ``?token=`` is checked before the
socket is accepted (scripts and existing integrations). Without one, the socket is accepted and
its first message must be ``{"type": "auth", "token": ...}`` within ``ws_auth_timeout_s``
(close 1008 otherwise); the pages use this, so no token rides in a URL or a server log. An open
socket is closed 1008 when its token is revoked (within ``revocation_refresh_s``) or expires.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from app import wirejson
from app.auth import AuthError, Principal, Role, authenticate, token_from
from app.bus import BusMessage
from app.delivery import CLOSE_TOO_SLOW, Stream, open_stream
from app.deps import (
    BusDep,
    CallsDep,
    MetricsDep,
    RevocationsDep,
    SettingsDep,
    SignerDep,
    StoreDep,
)
from app.session import UnknownNudge
from app.settings import Settings
from app.store.repository import is_practice_call
from app.wsclose import close_with_error

log = logging.getLogger("carecue.events")

router = APIRouter(tags=["events"])

_FEEDBACK_ACTIONS = ("accepted", "dismissed", "helpful", "not_helpful")
_MAX_CLIENT_MESSAGE = 4096
_CLOSE_GRACE_S = 30.0  # how long a too-slow client's close may wait for its socket to drain


class _Service:
    """What an event socket uses of the running service, as FastAPI dependencies."""

    def __init__(
        self,
        settings: SettingsDep,
        store: StoreDep,
        bus: BusDep,
        calls: CallsDep,
        metrics: MetricsDep,
        signer: SignerDep,
        revocations: RevocationsDep,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.calls = calls
        self.metrics = metrics
        self.signer = signer
        self.revocations = revocations


ServiceDep = Annotated[_Service, Depends()]


def _since(ws: WebSocket) -> int | None:
    raw = ws.query_params.get("since")
    if raw is None or raw == "":
        return None
    value = int(raw)
    if value < 0:
        raise ValueError("since must be >= 0")
    return value


async def _sender(ws: WebSocket, svc: _Service, stream: Stream) -> None:
    """Send the replay, then the live queue, until the client is too slow (see
    ``app.delivery``): its queue overflowed, or one send waited ``client_send_timeout_s``
    for a socket that stopped reading (the send is then withdrawn: nothing of it was written)."""
    queue = stream.queue
    timeout_s = svc.settings.client_send_timeout_s
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    sending = gave_up = False

    def give_up() -> None:
        # From a timer or the queue's overflow, on this loop: interrupt the send in progress.
        nonlocal gave_up
        if sending and not gave_up:
            gave_up = True
            task.cancel()

    queue.on_overflow = give_up
    replay = collections.deque(stream.replay)
    while True:
        delivered = queue.last_sent
        env = replay.popleft() if replay else await queue.get()
        if env is None:
            break
        timer = loop.call_later(timeout_s, give_up)
        sending = True
        try:
            await ws.send_json(env)
        except asyncio.CancelledError:
            if not gave_up:
                raise  # the socket's handler is stopping this task
            task.uncancel()
            break
        finally:
            sending = False
            timer.cancel()
        queue.last_sent = env["seq"]
    queue.last_sent = delivered  # the last envelope this client was surely sent
    stream.unsubscribe()  # nothing more is queued for it
    svc.metrics.clients_closed_slow.inc()
    log.info("event socket too slow", extra={"since": delivered, "stalled": gave_up,
                                             "overflowed": queue.overflowed})
    # The close goes out once the socket can take it (a stopped reader never lets it);
    # it is bounded so a dead client does not keep this task.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(close_with_error(
            ws, "too_slow", f"client fell behind; reconnect with since={delivered}",
            CLOSE_TOO_SLOW), _CLOSE_GRACE_S)


async def _receiver(ws: WebSocket, svc: _Service, principal: Principal) -> None:
    calls = svc.calls
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
            msg: Any = wirejson.loads(text)
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


async def _auth_message(ws: WebSocket, wait_s: float) -> str | None:
    """Accept the socket and read the token from its first message; ``None`` after closing
    the socket (nothing in time, or not an auth message)."""
    await ws.accept()
    try:
        message = await asyncio.wait_for(ws.receive(), wait_s)
    except TimeoutError:
        await close_with_error(
            ws, "auth_timeout", f"no auth message within {wait_s:g} s", 1008
        )
        return None
    if message["type"] == "websocket.disconnect":
        return None
    msg: Any = None
    text = message.get("text")
    if text is not None and len(text) <= _MAX_CLIENT_MESSAGE:
        with contextlib.suppress(ValueError):
            msg = wirejson.loads(text)
    if (
        not isinstance(msg, dict)
        or msg.get("type") != "auth"
        or not isinstance(msg.get("token"), str)
    ):
        await close_with_error(
            ws, "auth_required", 'the first message must be {"type": "auth", "token": ...}', 1008
        )
        return None
    return str(msg["token"])


async def socket_principal(
    ws: WebSocket, svc: _Service, allowed: tuple[Role, ...]
) -> Principal | None:
    """Who opened this event socket, from a header, ``?token=`` or the first message.

    ``None`` once the socket has been closed with the reason (1008)."""
    if not origin_allowed(ws, svc.settings):
        await close_with_error(ws, "bad_origin", "this origin may not open CareCue sockets", 1008)
        return None
    token = token_from(ws.headers.get("authorization"), ws.query_params.get("token"))
    by_message = token is None
    if by_message:
        token = await _auth_message(ws, svc.settings.ws_auth_timeout_s)
        if token is None:
            return None
    try:
        principal = authenticate(svc.signer, token, allowed)
    except AuthError as exc:
        await close_with_error(ws, exc.code, exc.message, 1008)
        return None
    ws.state.auth_by_message = by_message
    return principal


async def _token_ends(principal: Principal, revoked: asyncio.Event) -> tuple[str, str]:
    """Wait until the socket's token is revoked or expires; the close code and message."""
    if principal.expires_at is None:
        await revoked.wait()
    else:
        try:
            await asyncio.wait_for(revoked.wait(), max(0.0, principal.expires_at - time.time()))
        except TimeoutError:
            return "token_expired", "token has expired"
    return "token_revoked", "token has been revoked"


async def _serve(
    ws: WebSocket,
    svc: _Service,
    principal: Principal,
    accept: Any,
    kind: str,
    stream_agent: str | None,
) -> None:
    try:
        since = _since(ws)
    except ValueError:
        await close_with_error(ws, "bad_since", "since must be a non-negative integer", 1008)
        return
    if ws.client_state == WebSocketState.CONNECTING:
        await ws.accept()
    if getattr(ws.state, "auth_by_message", False):
        expires = principal.expires_at
        await ws.send_json({
            "type": "auth.ok",
            "role": principal.role,
            "expires_at": int(expires) if expires is not None else None,
        })
    with svc.revocations.watch(principal.token_id) as revoked:
        await _stream(ws, svc, principal, accept, kind, stream_agent, since, revoked)


async def _stream(
    ws: WebSocket,
    svc: _Service,
    principal: Principal,
    accept: Any,
    kind: str,
    stream_agent: str | None,
    since: int | None,
    revoked: asyncio.Event,
) -> None:
    stream = await open_stream(
        bus=svc.bus,
        store=svc.store,
        accept=accept,
        since=since,
        capacity=svc.settings.client_queue_size,
        replay_limit=svc.settings.replay_limit,
        active_calls=lambda: svc.calls.live_ids(stream_agent),
        agent_id=stream_agent,
        metrics=svc.metrics,
    )
    gauge = svc.metrics.ws_clients.labels(kind)
    gauge.inc()
    send = asyncio.create_task(_sender(ws, svc, stream), name=f"ws-send-{kind}")
    recv = asyncio.create_task(_receiver(ws, svc, principal), name=f"ws-recv-{kind}")
    ends = asyncio.create_task(_token_ends(principal, revoked), name=f"ws-token-{kind}")
    ended: tuple[str, str] | None = None
    try:
        done, _pending = await asyncio.wait(
            {send, recv, ends}, return_when=asyncio.FIRST_COMPLETED
        )
        for t in done:
            if t is ends:
                ended = ends.result()
                continue
            exc = t.exception()
            if exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError):
                log.warning(
                    "event socket ended with an error", extra={"kind": kind, "err": repr(exc)}
                )
    finally:
        stream.unsubscribe()
        gauge.dec()
        for t in (send, recv, ends):
            t.cancel()
        await asyncio.gather(send, recv, ends, return_exceptions=True)
        if ended is not None:
            log.info("event socket closed: token ended", extra={"kind": kind, "code": ended[0]})
            # Bounded like the too_slow close: a client that stopped reading cannot hold it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(close_with_error(ws, *ended, 1008), _CLOSE_GRACE_S)
        with contextlib.suppress(Exception):
            await ws.close()


@router.websocket("/v1/agents/{agent_id}/events")
async def agent_events(ws: WebSocket, svc: ServiceDep, agent_id: str) -> None:
    """One agent's calls: transcripts, signals, nudges, urgent escalations; ``?since=SEQ``.

    Authenticate with a bearer header, ``?token=``, or a first ``{"type": "auth"}`` message."""
    principal = await socket_principal(ws, svc, ("agent", "supervisor", "admin"))
    if principal is None:
        return
    if not principal.may_see_agent(agent_id):
        await close_with_error(ws, "forbidden", "this token is for another agent", 1008)
        return

    def accept(msg: BusMessage) -> bool:
        return msg.agent_id == agent_id and msg.to_agent

    await _serve(ws, svc, principal, accept, "agent", agent_id)


@router.websocket("/v1/supervisor/events")
async def supervisor_events(ws: WebSocket, svc: ServiceDep) -> None:
    """Every call and every escalation, practice calls excepted. ``?since=SEQ`` resumes."""
    principal = await socket_principal(ws, svc, ("supervisor", "admin"))
    if principal is None:
        return

    def accept(msg: BusMessage) -> bool:
        # A trainee's scripted crisis would otherwise escalate on the floor.
        return not is_practice_call(msg.call_id)

    await _serve(ws, svc, principal, accept, "supervisor", None)
