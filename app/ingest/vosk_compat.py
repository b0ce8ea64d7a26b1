"""vosk-server compatible transcription at ``WS /v1/asr`` (transcripts only, no call).

Existing vosk-server clients work by pointing them at ``ws://host:8080/v1/asr?token=...``:

- optional ``{"config": {...}}`` text message before audio (no reply): ``sample_rate``
  (default 8000, as vosk-server's ``VOSK_SAMPLE_RATE``), ``words`` (default true),
  ``max_alternatives`` (vosk's ``alternatives`` shape when above 0) and ``vosk_style``
  (lowercase words without punctuation, numbers spelled out, as Kaldi models write them);
  ``phrase_list`` is accepted and ignored;
- binary messages of 16-bit little-endian mono PCM; each is recognised before its reply, as
  vosk-server's ``AcceptWaveform`` does, so results follow the audio however fast it is sent
  and utterances end on the audio's own pauses, not on wall time. The reply is
  ``{"result": [{"conf", "end", "start", "word"}, ...], "text": "..."}`` when the message
  completed an utterance, else ``{"partial": "..."}``;
- ``{"reset" : 1}``: the final result of what was said so far (``FinalResult``); the stream
  goes on, its times continuing;
- ``{"eof" : 1}``: the final result, then the server closes (1000).

Audio goes through the service's own ASR engine, VAD and endpointing (``TrackPipeline``, in the
shared ASR executor), so results match what agents see. A stream holds one of
``CARECUE_MAX_CALLS`` while it is open, waits for the models like a call, and takes messages
up to ``CARECUE_MAX_FRAME_BYTES``. Its first audio must come within
``CARECUE_INGEST_HANDSHAKE_TIMEOUT_S`` and then audio at least every
``CARECUE_INGEST_IDLE_TIMEOUT_S`` (config, reset and eof are not audio). Errors send the
contract's JSON ``error`` and close.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from app import wirejson
from app.auth import AuthError, websocket_principal
from app.ingest.base import IngestError
from app.ingest.lifecycle import Deadline, IngestStream, registered
from app.ingest.vosk_text import vosk_words
from app.wsclose import close_with_error
from asr.codecs import SUPPORTED_RATES
from asr.errors import AudioFormatError
from asr.types import AudioFrame, TranscriptEvent, TranscriptFinal, TranscriptPartial, Word

log = logging.getLogger(__name__)

router = APIRouter()
PATH = "/v1/asr"
DEFAULT_RATE = 8000  # vosk-server's VOSK_SAMPLE_RATE default
MAX_ALTERNATIVES = 10


@dataclass(frozen=True, slots=True)
class Options:
    """What a client's ``config`` asked for."""

    sample_rate: int = DEFAULT_RATE
    words: bool = True
    max_alternatives: int = 0
    vosk_style: bool = False


def parse_config(config: Any, current: Options) -> Options:
    """Apply one ``{"config": {...}}``; raise ``IngestError`` (1007) on bad values."""
    if not isinstance(config, dict):
        raise IngestError("bad_message", "config must be an object", 1007)
    try:
        rate = int(float(config.get("sample_rate", current.sample_rate)))
        alternatives = int(config.get("max_alternatives", current.max_alternatives))
    except (TypeError, ValueError, OverflowError) as exc:
        raise IngestError("bad_config", "sample_rate and max_alternatives are numbers",
                          1007) from exc
    if rate not in SUPPORTED_RATES:
        raise IngestError("unsupported_sample_rate",
                          f"sample_rate {rate}; use one of {SUPPORTED_RATES}", 1007)
    if not 0 <= alternatives <= MAX_ALTERNATIVES:
        raise IngestError("bad_config", f"max_alternatives must be 0..{MAX_ALTERNATIVES}", 1007)
    return Options(
        sample_rate=rate,
        words=bool(config.get("words", current.words)),
        max_alternatives=alternatives,
        vosk_style=bool(config.get("vosk_style", current.vosk_style)),
    )


def _styled_words(words: tuple[Word, ...], vosk_style: bool) -> list[Word]:
    if not vosk_style:
        return list(words)
    out: list[Word] = []
    for w in words:
        parts = vosk_words(w.text)
        step = (w.end_s - w.start_s) / len(parts) if parts else 0.0
        out.extend(Word(p, w.start_s + i * step, w.start_s + (i + 1) * step, w.confidence)
                   for i, p in enumerate(parts))
    return out


def result_json(finals: list[TranscriptFinal], words: bool = True, max_alternatives: int = 0,
                vosk_style: bool = False) -> dict[str, Any]:
    """vosk's ``Result()`` shape for one or more finished utterances.

    With ``max_alternatives`` above 0 it is vosk's ``{"alternatives": [...]}``; CareCue's
    engines give one hypothesis, so the list holds one entry, its ``confidence`` the mean
    word confidence (0..1)."""
    texts = [" ".join(vosk_words(f.text)) if vosk_style else f.text.strip() for f in finals]
    text = " ".join(t for t in texts if t)
    items = [w for f in finals for w in _styled_words(f.words, vosk_style)]
    confs = [w.confidence if w.confidence is not None else 1.0 for w in items]
    if max_alternatives > 0:
        alternative: dict[str, Any] = {
            "confidence": round(sum(confs) / len(confs), 6) if confs else 0.0}
        if words and items:
            alternative["result"] = [{"end": round(w.end_s, 6), "start": round(w.start_s, 6),
                                      "word": w.text} for w in items]
        alternative["text"] = text
        return {"alternatives": [alternative]}
    out: dict[str, Any] = {}
    if words and items:
        out["result"] = [{"conf": round(c, 6), "end": round(w.end_s, 6),
                          "start": round(w.start_s, 6), "word": w.text}
                         for w, c in zip(items, confs, strict=True)]
    out["text"] = text
    return out


def control(text: str) -> str | None:
    """``"eof"``, ``"reset"`` or ``"config"`` for a text message, however it is spaced
    (vosk-server compares exact strings); ``None`` for anything else."""
    try:
        msg = wirejson.loads(text)
    except ValueError:
        return None
    if not isinstance(msg, dict):
        return None
    if msg.get("eof") == 1:
        return "eof"
    if msg.get("reset") == 1:
        return "reset"
    if "config" in msg:
        return "config"
    return None


def is_eof(text: str) -> bool:
    """``{"eof" : 1}`` however it is spaced."""
    return control(text) == "eof"


class LockstepRecognizer:
    """vosk's ``KaldiRecognizer`` over CareCue's ``TrackPipeline``: every call returns only
    once the audio given is recognised (the pipeline runs in the shared ASR executor)."""

    def __init__(self, transcriber: Any, options: Options) -> None:
        from asr.transcriber import TrackPipeline

        engine = getattr(transcriber, "engine", None)
        executor = getattr(transcriber, "executor", None)
        if engine is None or executor is None:
            raise IngestError("no_asr", "this service's ASR cannot serve /v1/asr", 1011)
        self._new = lambda: TrackPipeline(transcriber.speaker, engine, transcriber.config)
        self._executor = executor
        self._options = options
        self._pipeline: Any = None
        self._partial = ""

    async def _run(self, fn: Any, *args: Any) -> list[TranscriptEvent]:
        loop = asyncio.get_running_loop()
        result: list[TranscriptEvent] = await loop.run_in_executor(self._executor, fn, *args)
        return result

    async def _pipeline_ready(self) -> Any:
        if self._pipeline is None:
            self._pipeline = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._new)
        return self._pipeline

    def _reply(self, events: list[TranscriptEvent], final: bool) -> dict[str, Any]:
        finals = [e for e in events if isinstance(e, TranscriptFinal)]
        for event in events:
            if isinstance(event, TranscriptPartial):
                self._partial = event.text
        if finals or final:
            self._partial = ""
            o = self._options
            return result_json(finals, o.words, o.max_alternatives, o.vosk_style)
        text = " ".join(vosk_words(self._partial)) if self._options.vosk_style else self._partial
        return {"partial": text}

    async def accept(self, data: bytes) -> dict[str, Any]:
        """``AcceptWaveform`` then ``Result()`` or ``PartialResult()``."""
        pipeline = await self._pipeline_ready()
        frame = AudioFrame(track="caller", data=data, sample_rate=self._options.sample_rate,
                           encoding="pcm_s16le")
        events = await self._run(pipeline.process, [(frame, time.monotonic())])
        return self._reply(events, final=False)

    async def final(self) -> dict[str, Any]:
        """``FinalResult()``: finish the utterance in progress; the next audio starts afresh
        where this one ended in stream time."""
        if self._pipeline is None:
            return self._reply([], final=True)
        pipeline, self._pipeline = self._pipeline, None
        events = await self._run(pipeline.finish)
        fresh = await self._pipeline_ready()
        fresh.skip(pipeline.track_time_s)
        return self._reply(events, final=True)


class _Connection:
    """One ``/v1/asr`` socket: the options, then the recogniser once audio arrives."""

    def __init__(self, ws: WebSocket, transcriber: Any) -> None:
        self.ws = ws
        self.transcriber = transcriber
        self.max_frame_bytes: int = ws.app.state.settings.max_frame_bytes
        self.options = Options()
        self.rec: LockstepRecognizer | None = None

    async def on_text(self, text: str) -> bool:
        """A config, reset or eof; ``True`` when the stream is over."""
        kind = control(text)
        if kind == "config":
            if self.rec is None:  # as in vosk-server, config after audio has no effect
                self.options = parse_config(json.loads(text)["config"], self.options)
            return False
        if kind is None:
            raise IngestError("bad_message", "text must be config, reset or eof", 1003)
        if self.rec is None:  # nothing heard yet: an empty result, in the asked shape
            await self.ws.send_json(result_json([], self.options.words,
                                                self.options.max_alternatives))
        else:
            await self.ws.send_json(await self.rec.final())
        if kind == "eof":
            await self.ws.close(1000)
            return True
        return False

    async def on_audio(self, data: bytes) -> None:
        if len(data) > self.max_frame_bytes:
            raise IngestError("frame_too_big", f"audio message of {len(data)} bytes; "
                              f"limit {self.max_frame_bytes}", 1009)
        if len(data) % 2:
            raise IngestError("bad_audio", "audio must be whole 16-bit samples", 1007)
        self.rec = self.rec or LockstepRecognizer(self.transcriber, self.options)
        await self.ws.send_json(await self.rec.accept(data))


async def _serve(ws: WebSocket) -> None:
    calls = getattr(ws.app.state, "calls", None)
    if calls is None:
        raise IngestError("no_registry", "the service has no ASR", 1011)
    async with calls.stream_slot() as components:
        deadline = Deadline.for_app(ws.app)  # from when the slot is held, not the model wait
        conn = _Connection(ws, components.make_transcriber("caller"))
        try:
            while True:
                # The first audio is this protocol's start; config, reset and eof are not audio.
                message = await deadline.wait(ws.receive())
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("text") is not None:
                    if await conn.on_text(message["text"]):
                        return
                else:
                    data = message.get("bytes") or b""
                    if data:
                        if deadline.is_started:
                            deadline.progress()
                        else:
                            deadline.started()
                    await conn.on_audio(data)
        finally:
            aclose = getattr(conn.transcriber, "aclose", None)
            if aclose is not None:
                await aclose()


@router.websocket(PATH)
async def vosk_asr(websocket: WebSocket) -> None:
    """vosk-server protocol (see the module docstring)."""
    try:
        websocket_principal(websocket, ("ingest", "admin"))
    except AuthError as exc:
        await close_with_error(websocket, exc.code, exc.message, 1008)
        return
    await websocket.accept()
    stream = IngestStream(websocket, "vosk")
    async with registered(stream):
        try:
            await _serve(websocket)
        except WebSocketDisconnect:
            return
        except IngestError as exc:
            if not stream.draining:
                await close_with_error(websocket, exc.code, exc.message, exc.close_code)
        except AudioFormatError as exc:  # e.g. audio that is not speech-band PCM at all
            log.info("vosk-compatible stream refused", extra={"error": type(exc).__name__})
            if not stream.draining:
                await close_with_error(websocket, "bad_audio", str(exc)[:200], 1007)
        except Exception as exc:  # the engine failed on this stream only
            log.warning("vosk-compatible stream failed", extra={"error": type(exc).__name__})
            if not stream.draining:
                await close_with_error(websocket, "asr_failed", type(exc).__name__, 1011)
