"""Scripted calls: a YAML ``CallScript`` rendered to speech with ``carecue_sim.speech_synth``."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from carecue_sim.audio import CallAudio, SpokenTurn, call_from_pcm

if TYPE_CHECKING:
    from carecue_sim.speech_synth import CallScript


def _timing_fields(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    if is_dataclass(item) and not isinstance(item, type):
        return asdict(item)
    if hasattr(item, "model_dump"):
        return dict(item.model_dump())
    return dict(vars(item))


def render_script_file(path: str | Path) -> CallAudio:
    """Render the YAML script at ``path`` (turns with speaker, text, pause_s) to call audio."""
    from carecue_sim.speech_synth import CallScript

    return render_script(CallScript.from_yaml(Path(path)))


def render_script(script: CallScript) -> CallAudio:
    """Render a ``CallScript`` to call audio with its turn timings."""
    from carecue_sim.speech_synth import render_call

    stereo, timings = render_call(script)
    turns = []
    for item in timings:
        f = _timing_fields(item)
        turns.append(
            SpokenTurn(
                speaker=f["speaker"],
                start_s=float(f.get("start_s", f.get("start", 0.0))),
                end_s=float(f.get("end_s", f.get("end", 0.0))),
                text=str(f.get("text", "")),
            )
        )
    return call_from_pcm(np.asarray(stereo, dtype=np.int16), 8000, turns)
