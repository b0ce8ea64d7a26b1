"""vosk-server compatible transcription at ``WS /v1/asr`` (transcripts only, no call).

Existing vosk-server clients work by pointing them at ``ws://host:8000/v1/asr?token=...``:

- optional ``{"config": {"sample_rate": 16000, "words": true}}`` text message (no reply);
  ``phrase_list`` and ``max_alternatives`` are accepted and ignored;
- binary messages of 16-bit little-endian mono PCM; each gets exactly one reply, as
  vosk-server gives: ``{"result": [{"conf", "end", "start", "word"}, ...], "text": "..."}``
  when an utterance has ended since the last reply, else ``{"partial": "..."}``;
- ``{"eof" : 1}`` flushes: the reply holds every utterance not yet returned, then the server
  closes (1000).

Audio goes through the service's own ``StreamingTranscriber`` and ASR engine (the same path
as calls), so results match what agents see. Unlike vosk-server the recogniser is not
synchronous: a chunk's words may show up a reply or two later, and all of them by ``eof``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app.ingest.base import IngestError
from asr.types import AudioFrame, TranscriptFinal, TranscriptPartial

log = logging.getLogger(__name__)

router = APIRouter()
PATH = "/v1/asr"
DEFAULT_RATE = 8000  # vosk-server's VOSK_SAMPLE_RATE default
MAX_FRAME_BYTES = 1 << 20
READY_WAIT_S = 120.0


def result_json(finals: list[TranscriptFinal], words: bool = True) -> dict[str, Any]:
    """vosk's ``Result()`` shape for one or more finished utterances."""
    out: dict[str, Any] = {}
    if words:
        items = [
            {"conf": round(w.confidence if w.confidence is not None else 1.0, 6),
             "end": round(w.end_s, 6), "start": round(w.start_s, 6), "word": w.text}
            for f in finals for w in f.words
        ]
        if items:
            out["result"] = items
    out["text"] = " ".join(f.text.strip() for f in finals if f.text.strip())
    return out


def is_eof(text: str) -> bool:
    """``{"eof" : 1}`` however it is spaced (vosk-server compares the exact string)."""
    try:
        msg = json.loads(text)
    except ValueError:
        return False
    return isinstance(msg, dict) and msg.get("eof") == 1


class _Recognizer:
    """One connection's transcriber plus what has not been returned to the client yet."""

    def __init__(self, transcriber: Any) -> None:
        self.tr = transcriber
        self.finals: collections.deque[TranscriptFinal] = collections.deque()
        self.partial = ""
        self.error: Exception | None = None
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        try:
            async for event in self.tr:
                if isinstance(event, TranscriptFinal):
                    self.finals.append(event)
                    self.partial = ""
                elif isinstance(event, TranscriptPartial):
                    self.partial = event.text
        except Exception as exc:  # the engine failed on this stream only
            self.error = exc

    async def feed(self, frame: AudioFrame) -> None:
        if self.error is not None:
            raise self.error
        send = getattr(self.tr, "send", None)
        if send is not None:
            await send(frame)  # waits while the input queue is full: backpressure, no drops
        else:
            self.tr.push(frame)
        await asyncio.sleep(0)

    def reply(self, words: bool) -> dict[str, Any]:
        if self.finals:
            return result_json([self.finals.popleft()], words)
        return {"partial": self.partial}

    async def finish(self, words: bool) -> dict[str, Any]:
        self.tr.end_input()
        await self._task
        if self.error is not None:
            raise self.error
        finals = list(self.finals)
        self.finals.clear()
        return result_json(finals, words)

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        await self.tr.aclose()


async def _make_transcriber(ws: WebSocket) -> Any:
    calls = getattr(ws.app.state, "calls", None)
    if calls is None:
        raise IngestError("no_registry", "the service has no ASR", close_code=1011)
    if not calls.ready.is_set():
        try:
            await asyncio.wait_for(calls.ready.wait(), READY_WAIT_S)
        except TimeoutError as exc:
            raise IngestError("not_ready", "models are still loading", 1013) from exc
    if calls.components is None:
        raise IngestError("models_failed", "models failed to load", 1011)
    return calls.components.make_transcriber("caller")


@router.websocket(PATH)
async def vosk_asr(websocket: WebSocket) -> None:
    """vosk-server protocol (see the module docstring)."""
    from app.auth import AuthError, websocket_principal

    await websocket.accept()
    try:
        websocket_principal(websocket, ("ingest", "admin", "supervisor"))
    except AuthError as exc:
        await websocket.close(1008, exc.message[:120])
        return
    rate = DEFAULT_RATE
    words = True
    rec: _Recognizer | None = None
    code, reason = 1000, ""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is not None:
                if is_eof(text):
                    if rec is None:
                        await websocket.send_text(json.dumps({"text": ""}))
                    else:
                        await websocket.send_text(json.dumps(await rec.finish(words)))
                    break
                try:
                    config = json.loads(text).get("config")
                except (ValueError, AttributeError) as exc:
                    raise IngestError("bad_message", "text must be a config or eof",
                                      1003) from exc
                if not isinstance(config, dict):
                    raise IngestError("bad_message", "text must be a config or eof", 1003)
                if rec is None:  # as in vosk-server, config after audio has no effect
                    if "sample_rate" in config:
                        rate = int(float(config["sample_rate"]))
                    if "words" in config:
                        words = bool(config["words"])
                continue
            data = message.get("bytes") or b""
            if len(data) > MAX_FRAME_BYTES:
                raise IngestError("too_big", "audio message too large", 1009)
            if len(data) % 2:
                raise IngestError("bad_audio", "audio must be whole 16-bit samples", 1007)
            if rec is None:
                rec = _Recognizer(await _make_transcriber(websocket))
            if data:
                await rec.feed(AudioFrame(track="caller", data=data, sample_rate=rate,
                                          encoding="pcm_s16le"))
            await websocket.send_text(json.dumps(rec.reply(words)))
    except IngestError as exc:
        code, reason = exc.close_code, exc.message
    except WebSocketDisconnect:
        return
    except Exception as exc:  # bad rate, engine failure: this connection only
        log.warning("vosk-compatible stream failed", extra={"error": type(exc).__name__})
        code, reason = 1011 if not isinstance(exc, ValueError) else 1007, type(exc).__name__
    finally:
        if rec is not None:
            await rec.aclose()
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code, reason[:120])
