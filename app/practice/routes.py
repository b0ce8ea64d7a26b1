"""Practice mode over HTTP and one websocket (included by ``app.main``).

- ``GET /v1/practice/scenarios``: the scenarios a trainee can pick (no patient lines).
- ``GET /v1/practice/audio/{key}.wav``: a rendered patient line (cached; see ``voice``).
- ``WS /v1/practice/session``: one practice call. The page sends
  ``{"type":"begin","scenario_id","mode":"text"|"voice"}``; the server opens the call and
  answers ``ready`` (for ``voice``, with a short-lived ingest token that may stream this call
  only, and the native ``start`` message for the microphone), then ``patient`` lines,
  ``your_turn``, ``judged`` (which branch the answer took and the words that decided it),
  ``audio`` (a line's voice when rendered) and finally ``ended`` with the review link. The page
  sends ``reply`` (typed), ``end_turn`` and ``hangup``.

Agents practise as themselves (the call is theirs, so its review page is theirs); supervisors
and admins practise as ``trainer``. Practice calls are stored like any call with
``custom.practice`` set to the scenario id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from app import wirejson
from app.auth import AnyPrincipal, AuthError, websocket_principal
from app.deps import CallsDep, PracticeDep, SettingsDep, SignerDep, get_practice
from app.ingest.base import CallMeta, IngestError
from app.practice.runner import MAX_REPLY_CHARS, PracticeRun
from app.practice.scenario import Scenario, scenario_summary
from app.practice.service import PracticeService
from app.store.repository import PRACTICE_CALL_PREFIX, PRACTICE_SOURCE
from app.wsclose import close_with_error

log = logging.getLogger("carecue.practice")

router = APIRouter(tags=["practice"])

INGEST_TOKEN_TTL_S = 900
_BEGIN_TIMEOUT_S = 120.0
_INGEST_WAIT_S = 30.0
_MAX_MESSAGE = 4096


class ScenarioSummary(BaseModel):
    id: str
    title: str
    summary: str
    caller: str
    skills: list[str]
    protocol: bool = Field(description="a safety protocol applies (crisis scenario)")
    steps: int


class ScenarioList(BaseModel):
    scenarios: list[ScenarioSummary]
    voice: bool = Field(description="the patient speaks (Kokoro installed and enabled)")
    voice_note: str | None = Field(description="why there is no voice, when there is none")


@router.get("/v1/practice/scenarios", response_model=ScenarioList)
async def list_scenarios(principal: AnyPrincipal, service: PracticeDep) -> ScenarioList:
    """The practice scenarios, and whether the patient will speak."""
    return ScenarioList(
        scenarios=[ScenarioSummary(**scenario_summary(s)) for s in service.scenarios.values()],
        voice=service.voice.available,
        voice_note=service.voice.note,
    )


@router.get("/v1/practice/audio/{name}", response_class=FileResponse)
async def patient_audio(principal: AnyPrincipal, service: PracticeDep, name: str) -> FileResponse:
    """A rendered patient line (WAV). Lines are scenario text, the same for every trainee."""
    key = name.removesuffix(".wav")
    path = service.voice.path(key)
    if path is None:
        raise HTTPException(404, detail={"code": "unknown_audio", "message": "no such line"})
    return FileResponse(path, media_type="audio/wav",
                        headers={"Cache-Control": "private, max-age=86400"})


class _BadMessage(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def _receive_json(ws: WebSocket, wait_s: float | None) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive(), wait_s)
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None:
        raise _BadMessage("unsupported_data", "practice messages are JSON text")
    if len(text) > _MAX_MESSAGE:
        raise _BadMessage("too_big", f"a practice message is at most {_MAX_MESSAGE} bytes")
    try:
        data = wirejson.loads(text)
    except ValueError as exc:
        raise _BadMessage("malformed_json", "the message is not valid JSON") from exc
    if not isinstance(data, dict):
        raise _BadMessage("malformed_json", "the message must be a JSON object")
    return data


@router.websocket("/v1/practice/session")
async def practice_session(
    ws: WebSocket, settings: SettingsDep, calls: CallsDep, signer: SignerDep
) -> None:
    """One practice call (see the module docstring for the messages).

    The practice service is fetched after the origin and token checks (``get_practice``): a
    refused socket does not load the scenarios.
    """
    from app.routes.events import origin_allowed

    if not origin_allowed(ws, settings):
        await close_with_error(ws, "bad_origin", "this origin may not open CareCue sockets", 1008)
        return
    try:
        principal = websocket_principal(ws, ("agent", "supervisor", "admin"))
    except AuthError as exc:
        await close_with_error(ws, exc.code, exc.message, 1008)
        return
    await ws.accept()
    try:
        service = get_practice(ws)
        begin = await _receive_json(ws, _BEGIN_TIMEOUT_S)
        if begin.get("type") != "begin":
            raise _BadMessage("expected_begin", 'the first message must be {"type":"begin",...}')
        scenario = service.scenarios.get(str(begin.get("scenario_id")))
        if scenario is None:
            raise _BadMessage("unknown_scenario", "no such scenario")
        mode = begin.get("mode", "text")
        if mode not in ("text", "voice"):
            raise _BadMessage("bad_mode", 'mode must be "text" or "voice"')
    except WebSocketDisconnect:
        return
    except TimeoutError:
        await close_with_error(ws, "idle_timeout", "no begin message in time", 1008)
        return
    except _BadMessage as exc:
        await close_with_error(ws, exc.code, exc.message, 1007)
        return

    agent_id = principal.agent_id or "trainer"
    call_id = f"{PRACTICE_CALL_PREFIX}{secrets.token_hex(6)}"
    try:
        if mode == "text":
            session = await calls.open_call(CallMeta(
                call_id=call_id, agent_id=agent_id, source=PRACTICE_SOURCE, tracks=(),
                custom={"practice": scenario.id},
            ))
            await ws.send_json(_ready(call_id, agent_id, scenario, service, None))
        else:
            token = signer.create("ingest", ttl_s=INGEST_TOKEN_TTL_S, subject=f"call:{call_id}")
            ingest = {
                "path": "/v1/ingest/stream",
                "token": token,
                "start": {"type": "start", "call_id": call_id, "agent_id": agent_id,
                          "encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1,
                          "tracks": ["agent"], "custom": {"practice": scenario.id}},
            }
            await ws.send_json(_ready(call_id, agent_id, scenario, service, ingest))
            session = await _wait_for_call(calls, call_id)
            if session.agent_id != agent_id:
                # the page chose the start message: it may not file the call under someone else
                await session.end("forbidden")
                raise IngestError("forbidden", "the microphone stream named another agent", 1008)
    except IngestError as exc:
        await close_with_error(ws, exc.code, exc.message, exc.close_code)
        return
    except TimeoutError:
        await close_with_error(ws, "no_audio", "the microphone stream did not start", 1008)
        return
    except WebSocketDisconnect:
        return

    async def send(msg: dict[str, Any]) -> None:
        await ws.send_json(msg)

    components = calls.components
    assert components is not None  # open_call opens no call before the models are loaded
    run = PracticeRun(
        scenario=scenario, session=session, judge=service.judge(calls), voice=service.voice,
        executor=components.model_executor, send=send, mode=mode,
        turn_gap_s=float(settings.practice_turn_gap_s),
        pace=float(settings.practice_pace),
    )
    runner = asyncio.create_task(run.run(), name=f"practice-{call_id}")
    reader = asyncio.create_task(_read_client(ws, run), name=f"practice-read-{call_id}")
    try:
        await asyncio.wait({runner, reader}, return_when=asyncio.FIRST_COMPLETED)
        if not runner.done():
            run.hang_up()  # the page went away or broke the protocol
            await runner
        runner.result()
    except Exception:
        log.exception("practice call failed", extra={"call_id": call_id})
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        await session.end("practice_done" if run.outcome == "finished" else "hangup")
    with contextlib.suppress(Exception):
        await ws.send_json({
            "type": "ended",
            "call_id": call_id,
            "outcome": run.outcome,
            "review_url": f"/calls/{call_id}",
            "replay_url": f"/calls/{call_id}/replay",
            "path": run.path,
            "turns": [
                {"step": t.step, "when": t.judgement.when, "goto": t.judgement.goto}
                for t in run.turns
            ],
        })
        await ws.close(1000)


def _ready(call_id: str, agent_id: str, scenario: Scenario, service: PracticeService,
           ingest: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "type": "ready",
        "call_id": call_id,
        "agent_id": agent_id,
        "scenario": scenario_summary(scenario),
        "voice": service.voice.available,
        "voice_note": service.voice.note,
        "ingest": ingest,
    }


async def _wait_for_call(calls: Any, call_id: str) -> Any:
    """The session the browser's microphone stream opened (it has the call's scoped token)."""
    deadline = time.monotonic() + _INGEST_WAIT_S
    while time.monotonic() < deadline:
        session = calls.get(call_id)
        if session is not None:
            return session
        await asyncio.sleep(0.1)
    raise TimeoutError


async def _read_client(ws: WebSocket, run: PracticeRun) -> None:
    """The page's messages until it leaves; a bad one closes this practice call only."""
    try:
        while True:
            msg = await _receive_json(ws, None)
            kind = msg.get("type")
            if kind == "reply":
                text = msg.get("text")
                if not isinstance(text, str) or len(text) > MAX_REPLY_CHARS:
                    await ws.send_json({"type": "error", "code": "bad_reply",
                                        "message": f"text: 1..{MAX_REPLY_CHARS} characters"})
                    continue
                if not await run.reply(text):
                    await ws.send_json({"type": "error", "code": "not_your_turn",
                                        "message": "wait for the patient to finish"})
            elif kind == "end_turn":
                run.end_turn()
            elif kind == "hangup":
                run.hang_up()
                return
            else:
                await ws.send_json({"type": "error", "code": "unknown_message",
                                    "message": "expected reply, end_turn or hangup"})
    except WebSocketDisconnect:
        return
    except _BadMessage as exc:
        await close_with_error(ws, exc.code, exc.message, 1007)
