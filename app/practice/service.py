"""The practice scenarios and patient voice of this process (``app.deps.PracticeDep``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.calls import CallManager
from app.practice.judge import ReplyJudge
from app.practice.scenario import Scenario, load_scenarios
from app.practice.voice import PatientVoice, speech_module
from app.settings import Settings


class PracticeService:
    """Scenarios and the patient voice, shared by the practice calls of this process."""

    def __init__(self, scenarios: dict[str, Scenario], voice: PatientVoice) -> None:
        self.scenarios = scenarios
        self.voice = voice
        self._default_playbook: Any = None

    def judge(self, calls: CallManager) -> ReplyJudge:
        from nudges.playbook import load_playbook

        if self._default_playbook is None:
            self._default_playbook = load_playbook()
        playbook = calls.playbook.playbook if calls.playbook is not None else None
        components = calls.components
        return ReplyJudge(playbook or self._default_playbook,
                          getattr(components, "matcher", None),
                          fallback=self._default_playbook)


def build_practice_service(settings: Settings) -> PracticeService:
    """Load the scenarios (with the voices Kokoro has) and set up the patient voice."""
    from nudges.playbook import load_playbook

    voices = speech_module().kokoro_voices()
    return PracticeService(
        load_scenarios(voices=voices, phrase_sets=load_playbook().phrase_sets),
        PatientVoice(Path(settings.data_dir) / "practice-audio", enabled=settings.practice_voice),
    )
