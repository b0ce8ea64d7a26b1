"""The audio a simulated call speaks: two mono 8 kHz mu-law tracks plus where each turn is.

A call comes either from a committed stereo recording (``load_wav_call``: channel 0 caller,
channel 1 agent) or from a YAML script rendered with ``carecue_sim.speech_synth``
(``carecue_sim.script``).
Both end up as ``CallAudio``: what every protocol client in ``carecue_sim`` streams.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from asr.codecs import mulaw_encode
from asr.wavfile import parse_wav

Track = Literal["caller", "agent"]

_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_MULAW = 7


@dataclass(frozen=True, slots=True)
class SpokenTurn:
    """One scripted turn: who speaks and when, in seconds from the start of the call audio."""

    speaker: Track
    start_s: float
    end_s: float
    text: str = ""


@dataclass(frozen=True, slots=True)
class CallAudio:
    """A whole call, ready to stream: both tracks as 8 kHz mono mu-law of equal length."""

    caller: bytes
    agent: bytes
    turns: tuple[SpokenTurn, ...] = ()
    sample_rate: int = 8000

    def __post_init__(self) -> None:
        if len(self.caller) != len(self.agent):
            raise ValueError("caller and agent tracks must have the same length")

    @property
    def duration_s(self) -> float:
        return len(self.caller) / self.sample_rate

    def track(self, name: Track) -> bytes:
        return self.caller if name == "caller" else self.agent


def call_from_pcm(
    stereo: npt.NDArray[np.int16], sample_rate: int, turns: Sequence[SpokenTurn] = ()
) -> CallAudio:
    """A call from (n, 2) int16 PCM at 8 kHz: column 0 caller, column 1 agent."""
    if sample_rate != 8000:
        raise ValueError(f"simulated calls are 8 kHz telephone audio, got {sample_rate} Hz")
    if stereo.ndim != 2 or stereo.shape[1] != 2:
        raise ValueError("expected stereo audio shaped (samples, 2)")
    return CallAudio(
        caller=mulaw_encode(np.ascontiguousarray(stereo[:, 0])),
        agent=mulaw_encode(np.ascontiguousarray(stereo[:, 1])),
        turns=tuple(turns),
    )


def load_wav_call(path: str | Path, turns_path: str | Path | None = None) -> CallAudio:
    """Load a stereo 8 kHz WAV (mu-law or 16-bit PCM; ch0 caller, ch1 agent).

    Turn timings come from ``turns_path``, or from ``<name>.turns.json`` beside the WAV if it
    exists (a JSON list of ``{"speaker","start_s","end_s","text"?}`` or ``{"turns": [...]}``).
    """
    path = Path(path)
    tag, channels, rate, bits, data = parse_wav(path.read_bytes(), path.name)
    if channels != 2:
        raise ValueError(f"{path.name}: expected 2 channels (caller, agent), got {channels}")
    if rate != 8000:
        raise ValueError(f"{path.name}: expected 8000 Hz, got {rate}")
    if tag == _WAVE_FORMAT_MULAW and bits == 8:
        frames = np.frombuffer(data[: len(data) - len(data) % 2], dtype=np.uint8).reshape(-1, 2)
        caller, agent = frames[:, 0].tobytes(), frames[:, 1].tobytes()
    elif tag == _WAVE_FORMAT_PCM and bits == 16:
        usable = len(data) - len(data) % 4
        pcm = np.frombuffer(data[:usable], dtype="<i2").reshape(-1, 2)
        caller, agent = mulaw_encode(pcm[:, 0]), mulaw_encode(pcm[:, 1])
    else:
        raise ValueError(f"{path.name}: unsupported WAV format {tag} with {bits} bits")
    if turns_path is None:
        guess = path.with_suffix(".turns.json")
        turns_path = guess if guess.exists() else None
    turns = load_turns(turns_path) if turns_path is not None else ()
    return CallAudio(caller=caller, agent=agent, turns=turns)


def turns_from_json(payload: Any) -> tuple[SpokenTurn, ...]:
    """Turn timings from the JSON shapes ``render_call`` and the demo's sidecar file use."""
    items = payload.get("turns", payload) if isinstance(payload, dict) else payload
    out: list[SpokenTurn] = []
    for item in items:
        start = item.get("start_s", item.get("start"))
        end = item.get("end_s", item.get("end"))
        out.append(
            SpokenTurn(
                speaker=item["speaker"],
                start_s=float(start),
                end_s=float(end),
                text=str(item.get("text", "")),
            )
        )
    return tuple(out)


def load_turns(path: str | Path) -> tuple[SpokenTurn, ...]:
    return turns_from_json(json.loads(Path(path).read_text(encoding="utf-8")))
