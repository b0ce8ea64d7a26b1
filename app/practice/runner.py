"""One practice call: the simulated patient and the trainee, over a live ``CallSession``.

The patient's lines go into the session as caller finals (``CallSession.say``): their words
are known, so they skip ASR but are then classified, shown and nudged on exactly like a real
caller's. The trainee's answers are agent finals: typed ones through ``say``, spoken ones from
the browser's microphone through the native ingest and real ASR. Both reach the runner through
the session's final listener, so the branch is chosen from what the pipeline actually heard.

A spoken turn ends after ``turn_gap_s`` without a new agent final (or when the trainee presses
"Done"); a typed reply is one turn. The branch is chosen by ``ReplyJudge`` in the model
executor (it may embed the reply). Nothing here logs transcript words.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Literal

from app.practice.judge import Judgement, ReplyJudge
from app.practice.scenario import Scenario
from app.practice.voice import PatientVoice, speaking_time
from asr.types import TranscriptFinal

log = logging.getLogger("carecue.practice")

Mode = Literal["text", "voice"]
Send = Callable[[dict[str, Any]], Awaitable[None]]
# A trainee's turn: typed replies are capped like the agent console's messages.
MAX_REPLY_CHARS = 1000
_HANGUP: Any = object()
_END_TURN: Any = object()


@dataclass
class TurnRecord:
    """One exchange, for the page's summary at the end (never logged)."""

    step: str
    reply: str
    judgement: Judgement


@dataclass
class PracticeRun:
    """Drives one scenario over one live session; ``run`` returns when the call is over."""

    scenario: Scenario
    session: Any  # CallSession
    judge: ReplyJudge
    voice: PatientVoice
    executor: Executor
    send: Send
    mode: Mode = "text"
    turn_gap_s: float = 2.0
    pace: float = 1.0  # typed calls: a line takes its speaking time times this
    turns: list[TurnRecord] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    outcome: str = "running"  # finished | hung_up

    def __post_init__(self) -> None:
        self._inbox: asyncio.Queue[Any] = asyncio.Queue(256)
        self._listening = False
        self._audio_tasks: list[asyncio.Task[None]] = []
        self._last_end_s = 0.0  # end of the latest final: a said turn starts after it
        self.session.add_final_listener(self._on_final)

    # ---- inputs -------------------------------------------------------------------------

    def _on_final(self, final: TranscriptFinal) -> None:
        self._last_end_s = max(self._last_end_s, final.end_s)
        if final.speaker == "agent" and self._listening and not self._inbox.full():
            self._inbox.put_nowait(final.text)

    async def reply(self, text: str) -> bool:
        """A typed reply: said on the call as the agent. False when not the trainee's turn."""
        text = " ".join(text.split())[:MAX_REPLY_CHARS]
        if not text or not self._listening:
            return False
        final = await self.session.say("agent", text, speaking_time(text),
                                       not_before_s=self._last_end_s)
        if final is not None and self.mode == "text" and not self._inbox.full():
            self._inbox.put_nowait(_END_TURN)
        return final is not None

    def end_turn(self) -> None:
        """The trainee is done speaking (the page's "Done" button)."""
        if self._listening and not self._inbox.full():
            self._inbox.put_nowait(_END_TURN)

    def hang_up(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._inbox.put_nowait(_HANGUP)

    # ---- the call -----------------------------------------------------------------------

    async def run(self) -> None:
        current = self.scenario.start
        n = 0
        try:
            while True:
                step = self.scenario.step(current)
                n += 1
                self.path.append(current)
                await self._patient(current, n)
                if step.end:
                    self.outcome = "finished"
                    break
                reply = await self._trainee_turn(n)
                if reply is None:
                    self.outcome = "hung_up"
                    break
                loop = asyncio.get_running_loop()
                judgement = await loop.run_in_executor(self.executor, self.judge.choose, step,
                                                       reply)
                self.turns.append(TurnRecord(current, reply, judgement))
                await self.send({
                    "type": "judged",
                    "turn": n,
                    "step": current,
                    "when": judgement.when,
                    "goto": judgement.goto,
                    "listened_for": [b.when for b in step.branches if b.when],
                    "kind": judgement.kind,
                    "sentence": judgement.sentence,
                    "matched": judgement.matched,
                })
                current = judgement.goto
        finally:
            for task in self._audio_tasks:
                task.cancel()
            log.info("practice call over", extra={
                "call_id": self.session.call_id, "scenario": self.scenario.id,
                "outcome": self.outcome, "turns": len(self.turns),
            })

    async def _patient(self, step_id: str, n: int) -> None:
        """Show and say the patient's line. Spoken calls wait for the audio to play before the
        line counts as said, so the pipeline's timings match what the trainee heard."""
        step = self.scenario.step(step_id)
        msg: dict[str, Any] = {
            "type": "patient", "turn": n, "step": step_id, "text": step.patient,
            "mood": step.mood, "end": step.end, "audio_url": None, "duration_s": None,
        }
        if self.mode == "voice" and self.voice.available:
            rendered = await self.voice.render(step.patient, self.scenario.voice)
            msg["audio_url"] = _audio_url(rendered.key)
            msg["duration_s"] = rendered.duration_s
            await self.send(msg)
            await asyncio.sleep(rendered.duration_s)
            await self.session.say("caller", step.patient, rendered.duration_s,
                                   not_before_s=self._last_end_s)
            return
        duration = speaking_time(step.patient)
        msg["duration_s"] = duration
        await self.send(msg)
        if self.voice.available:
            # typed practice still hears the patient, as soon as the line is rendered
            self._audio_tasks.append(asyncio.create_task(self._send_audio(step_id, n)))
        # the patient takes as long to say it as a person would: the call keeps human timings
        # (time to acknowledge, talk share) however fast the replies are typed
        await asyncio.sleep(duration * self.pace)
        await self.session.say("caller", step.patient, duration, not_before_s=self._last_end_s)

    async def _send_audio(self, step_id: str, n: int) -> None:
        rendered = await self.voice.render(self.scenario.step(step_id).patient,
                                           self.scenario.voice)
        if rendered.key is not None:
            with contextlib.suppress(Exception):
                await self.send({"type": "audio", "turn": n, "audio_url": _audio_url(rendered.key),
                                 "duration_s": rendered.duration_s})

    async def _trainee_turn(self, n: int) -> str | None:
        """Collect the trainee's words for this turn; None when they hung up."""
        while not self._inbox.empty():  # anything said over the patient's line counts too
            item = self._inbox.get_nowait()
            if item is _HANGUP:
                return None
        self._listening = True
        await self.send({"type": "your_turn", "turn": n, "mode": self.mode})
        words: list[str] = []
        try:
            while True:
                timeout = self.turn_gap_s if words and self.mode == "voice" else None
                try:
                    item = await asyncio.wait_for(self._inbox.get(), timeout)
                except TimeoutError:
                    break
                if item is _HANGUP:
                    return None
                if item is _END_TURN:
                    if words:
                        break
                    continue
                words.append(item)
        finally:
            self._listening = False
        return " ".join(words)


def _audio_url(key: str | None) -> str | None:
    return f"/v1/practice/audio/{key}.wav" if key else None
