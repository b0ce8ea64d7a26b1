"""Scripted fakes for the service tests: no models, deterministic, same shapes as the real ones.

``TextTranscriber`` treats each pushed frame's bytes as the UTF-8 text of one utterance, so a
test "speaks" by sending text frames through the real ingest protocols. The real ASR, classifier
and nudge engine are exercised by the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.components import Components
from asr.errors import EngineError, GarbageAudio
from asr.types import AudioFrame, Speaker, TranscriptFinal, TranscriptPartial
from models.clock import Clock
from models.signals import Signals
from nudges.events import Escalation, Feedback, NudgeCreated, NudgeResolved, Tick

_ids = itertools.count(1)


class TextTranscriber:
    def __init__(self, speaker: Speaker, fail_on: str | None = None) -> None:
        self.speaker = speaker
        self._q: asyncio.Queue[Any] = asyncio.Queue()
        self._t = 0.0
        self._fail_on = fail_on
        # What a real transcriber reports under overload (asr/transcriber.py)
        self.dropped_audio_s = 0.0
        self.dropped_frames = 0
        self.lag_s = 0.0

    def push(self, frame: AudioFrame) -> None:
        text = frame.data.decode("utf-8", errors="replace").strip("\x00 ")
        if text == "OVERLOAD":  # as if ASR fell behind and its queue dropped 1.5 s of audio
            self.dropped_audio_s += 1.5
            self.dropped_frames += 75
            return
        if self._fail_on and self._fail_on in text:
            self._q.put_nowait(RuntimeError("asr crashed"))
            return
        if "FLAKY" in text:  # a transient engine failure: the session may retry
            self._q.put_nowait(EngineError("the engine failed on this stream"))
            return
        if "GARBAGE" in text:  # the platform's bytes are not the declared audio
            raise GarbageAudio("full-scale noise", "mulaw")
        seg = f"{self.speaker}-{next(_ids)}"
        start, self._t = self._t, self._t + 1.0
        self._q.put_nowait(TranscriptPartial(self.speaker, text.split(" ")[0], seg, start, self._t))
        self._q.put_nowait(
            TranscriptFinal(
                self.speaker,
                text,
                start,
                self._t,
                segment_id=seg,
                speech_end_monotonic=time.monotonic(),
            )
        )

    def end_input(self) -> None:
        self._q.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[TranscriptPartial | TranscriptFinal]:
        while True:
            item = await self._q.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    async def aclose(self) -> None:
        return None


def said(track: Speaker, text: str) -> AudioFrame:
    """A frame ``TextTranscriber`` hears as one utterance of ``text``."""
    return AudioFrame(track, text.encode("utf-8"))


class KeywordScorer:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.last = 0.1

    def add_final(self, final: TranscriptFinal) -> Signals:
        d = 0.9 if "terrified" in final.text or "kill myself" in final.text else 0.1
        trend = "rising" if d > self.last else ("falling" if d < self.last else "steady")
        self.last = d
        return Signals(
            at_s=self.clock.now(),
            distress=d,
            concerns={"fear": d},
            trend=trend,
            crisis="kill myself" in final.text,
            distressed=d > 0.5,
            active=frozenset({"fear"}) if d > 0.5 else frozenset(),
            evidence=final.text,
        )


class KeywordEngine:
    """Acknowledge on distress, crisis escalation, resolve on feedback; expiry on ticks."""

    def __init__(self, playbook: Any, clock: Clock, id_prefix: str = "n") -> None:
        self.clock = clock
        self.open: dict[str, float] = {}
        self.n = 0
        self.prefix = id_prefix

    def handle(self, event: Any) -> list[Any]:
        out: list[Any] = []
        now = self.clock.now()
        if isinstance(event, Signals):
            if event.crisis:
                self.n += 1
                nid = f"{self.prefix}{self.n}"
                out.append(
                    NudgeCreated(
                        nid,
                        "crisis",
                        "Crisis",
                        "Stay with them",
                        "crisis words",
                        "urgent",
                        now,
                        now + 60,
                        escalate=True,
                    )
                )
                out.append(Escalation(nid, "crisis", "urgent", "crisis words", now))
            elif event.distressed:
                self.n += 1
                nid = f"{self.prefix}{self.n}"
                self.open[nid] = now + 60
                out.append(
                    NudgeCreated(
                        nid,
                        "acknowledge-concern",
                        "Acknowledge their concern",
                        "That sounds frightening",
                        f'caller said "{event.evidence}"',
                        "suggest",
                        now,
                        now + 60,
                    )
                )
        elif isinstance(event, Feedback) and event.action in ("accepted", "dismissed"):
            if self.open.pop(event.nudge_id, None) is not None:
                out.append(NudgeResolved(event.nudge_id, "acknowledge-concern", event.action, now))
        elif isinstance(event, Tick):
            pass
        return out

    def end_call(self, at_s: float | None = None) -> list[Any]:
        now = self.clock.now() if at_s is None else at_s
        out = [NudgeResolved(nid, "acknowledge-concern", "call_ended", now) for nid in self.open]
        self.open.clear()
        return out


def fake_components(fail_on: str | None = None) -> Any:
    def factory(settings: Any, metrics: Any) -> Components:
        return Components(
            make_transcriber=lambda speaker: TextTranscriber(speaker, fail_on),  # type: ignore[arg-type,return-value]
            make_scorer=KeywordScorer,  # type: ignore[arg-type]
            make_engine=KeywordEngine,  # type: ignore[arg-type]
            model_executor=ThreadPoolExecutor(1),
            describe={"fake": True},
        )

    return factory
