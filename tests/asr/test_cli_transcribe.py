"""``carecue transcribe``: wav files of any rate, mono or stereo, text or jsonl."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.cli.transcribe import register
from asr import codecs
from tests.asr.conftest import APPOINTMENT, SICK, Speak, silence, wav_bytes, words_of

pytestmark = pytest.mark.slow

if not any(c.name == "transcribe" for c in cli.registered_commands):
    register(cli)


def _write_wav(path: Path, channels: list[np.ndarray], rate: int) -> Path:
    n = max(len(c) for c in channels)
    stacked = np.stack([np.pad(c, (0, n - len(c))) for c in channels], axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(codecs.float_to_pcm16(stacked.reshape(-1)).astype("<i2").tobytes())
    return path


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["transcribe", *args], catch_exceptions=False)


def test_stereo_44k_jsonl_has_one_object_per_final_with_speakers(
    speak: Speak, tmp_path: Path
) -> None:
    rate = 44100
    caller = np.concatenate([silence(0.5, rate), speak(SICK, rate=rate)])
    agent_at = len(caller) / rate + 0.8
    agent = np.concatenate([silence(agent_at, rate), speak(APPOINTMENT, rate=rate)])
    caller = np.concatenate([caller, silence(len(agent) / rate - len(caller) / rate + 1, rate)])
    path = _write_wav(tmp_path / "call.wav", [caller, agent], rate)

    result = _invoke(str(path), "--format", "jsonl", "--engine", "whisper")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [r["speaker"] for r in rows] == ["caller", "agent"]
    assert all(set(r) == {"speaker", "text", "start_s", "end_s"} for r in rows)
    assert len(words_of(rows[0]["text"]) & {"feeling", "sick", "scared", "yesterday"}) >= 3
    assert len(words_of(rows[1]["text"]) & {"appointment", "doctor", "monday", "change"}) >= 3
    assert abs(rows[0]["start_s"] - 0.5) < 0.3
    assert abs(rows[1]["start_s"] - agent_at) < 0.3
    assert rows[0]["end_s"] < rows[1]["start_s"]
    assert "transcribing" in result.stderr  # the progress bar goes to stderr, not into the jsonl


def test_mono_8k_text_output(speak: Speak, tmp_path: Path) -> None:
    audio = np.concatenate([silence(0.4, 8000), speak(SICK, rate=8000), silence(0.8, 8000)])
    path = _write_wav(tmp_path / "mono.wav", [audio], 8000)
    result = _invoke(str(path), "--no-progress")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("[0:00.") and "] caller: " in lines[0]
    assert len(words_of(lines[0]) & {"feeling", "sick", "scared", "yesterday"}) >= 3
    assert result.stderr == ""


def test_unusual_rate_is_converted(speak: Speak, tmp_path: Path) -> None:
    audio = np.concatenate([silence(0.4, 12345), speak(SICK, rate=12345), silence(0.8, 12345)])
    path = _write_wav(tmp_path / "odd.wav", [audio], 12345)
    result = _invoke(str(path), "--no-progress", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 1 and rows[0]["speaker"] == "caller"


def test_bad_inputs_fail_with_a_message(tmp_path: Path) -> None:
    not_wav = tmp_path / "notes.wav"
    not_wav.write_text("this is not audio")
    result = _invoke(str(not_wav))
    assert result.exit_code != 0 and "not a RIFF/WAVE file" in result.output

    quiet = _write_wav(tmp_path / "quiet.wav", [silence(0.2, 16000)], 16000)
    result = _invoke(str(quiet), "--engine", "kaldi", "--no-progress")
    assert result.exit_code == 2
    assert "unknown ASR engine 'kaldi'" in result.stderr and "whisper" in result.stderr

    result = _invoke(str(tmp_path / "missing.wav"))
    assert result.exit_code != 0


def test_mulaw_stereo_recording_streams_as_telephone_audio(speak: Speak, tmp_path: Path) -> None:
    caller = np.concatenate([silence(0.3, 8000), speak(SICK, rate=8000), silence(3.5, 8000)])
    agent = np.concatenate([silence(4.5, 8000), speak(APPOINTMENT, rate=8000), silence(0.8, 8000)])
    n = max(len(caller), len(agent))
    left = codecs.mulaw_encode(codecs.float_to_pcm16(np.pad(caller, (0, n - len(caller)))))
    right = codecs.mulaw_encode(codecs.float_to_pcm16(np.pad(agent, (0, n - len(agent)))))
    inter = bytes(b for pair in zip(left, right, strict=True) for b in pair)
    path = tmp_path / "call_ulaw.wav"
    path.write_bytes(wav_bytes(7, 2, 8000, 8, inter))
    result = _invoke(str(path), "--format", "jsonl", "--no-progress")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["speaker"] for r in rows] == ["caller", "agent"]
    assert len(words_of(rows[0]["text"]) & {"feeling", "sick", "scared", "yesterday"}) >= 3
    assert len(words_of(rows[1]["text"]) & {"appointment", "doctor", "monday", "change"}) >= 3
