"""Speech synthesis for scripted calls: espeak-ng always, Kokoro when the tts extra is installed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from carecue_sim import speech_synth
from carecue_sim.speech_synth import (
    CallScript,
    SpeechSynthError,
    espeak_voice_for,
    kokoro_available,
    render_call,
    synthesize,
)

SENTENCE = "I am really worried about my blood test results from last week."


def _rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


def _speech_fraction(pcm: np.ndarray, rate: int) -> float:
    """Share of 20 ms frames that carry speech-level energy."""
    frame = rate // 50
    n = len(pcm) // frame
    frames = pcm[: n * frame].astype(np.float64).reshape(n, frame)
    energy = np.sqrt((frames**2).mean(axis=1))
    return float((energy > 500).mean())


def test_espeak_synthesizes_speech_of_plausible_length() -> None:
    pcm, rate = synthesize(SENTENCE, "af_heart", engine="espeak")
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert rate == 22050
    duration = len(pcm) / rate
    # 12 words at a conversational pace: roughly 2.5 to 6 seconds.
    assert 2.0 < duration < 7.0
    assert _rms(pcm) > 1000
    assert _speech_fraction(pcm, rate) > 0.4
    # Leading and trailing silence is trimmed, so timings mark speech.
    edge = rate // 20
    assert np.abs(pcm[:edge].astype(np.int32)).max() > 300
    assert np.abs(pcm[-edge:].astype(np.int32)).max() > 300


def test_longer_text_gives_longer_audio() -> None:
    short, rate = synthesize("Hello.", "bm_george", engine="espeak")
    long, _ = synthesize(SENTENCE + " " + SENTENCE, "bm_george", engine="espeak")
    assert len(long) > 4 * len(short)


def test_espeak_voice_mapping() -> None:
    assert espeak_voice_for("af_heart").startswith("en-us")
    assert espeak_voice_for("bm_george").startswith("en-gb")
    assert espeak_voice_for("espeak:en-029") == "en-029"
    with pytest.raises(SpeechSynthError, match="unknown voice"):
        espeak_voice_for("zz_nobody")


def test_accent_suffix_maps_to_dialect() -> None:
    assert espeak_voice_for("bf_emma@en-gb-scotland") == "en-gb-scotland+f3"
    assert espeak_voice_for("am_michael@en-029") == "en-029+m3"
    with pytest.raises(SpeechSynthError, match="unknown accent"):
        synthesize("hello", "af_heart@xx-nowhere", engine="espeak")
    with pytest.raises(SpeechSynthError, match="empty accent"):
        synthesize("hello", "af_heart@", engine="espeak")
    scottish, _ = synthesize(SENTENCE, "bf_emma@en-gb-scotland", engine="espeak")
    plain, _ = synthesize(SENTENCE, "bf_emma", engine="espeak")
    assert len(scottish) > 0 and not np.array_equal(scottish[: len(plain)], plain[: len(scottish)])


def test_espeak_accent_voice_is_used() -> None:
    scottish, _ = synthesize(SENTENCE, "espeak:en-gb-scotland")
    american, _ = synthesize(SENTENCE, "espeak:en-us")
    assert len(scottish) > 0 and len(american) > 0
    assert not np.array_equal(scottish[: len(american)], american[: len(scottish)])


def test_bad_inputs_raise_typed_errors() -> None:
    with pytest.raises(SpeechSynthError, match="empty"):
        synthesize("   ", "af_heart")
    with pytest.raises(SpeechSynthError, match="speed"):
        synthesize("hello", "af_heart", speed=5.0)
    with pytest.raises(SpeechSynthError, match="espeak voice"):
        synthesize("hello", "espeak:en-029", engine="kokoro")
    with pytest.raises(SpeechSynthError, match="no voice"):
        synthesize("hello", "espeak:no-such-voice-xx")


def test_call_script_validation() -> None:
    script = CallScript.from_yaml(
        "voices: {caller: bf_emma, agent: am_michael}\n"
        "turns:\n"
        "  - {speaker: caller, text: Hello there}\n"
        "  - {speaker: agent, text: Hi, pause_s: -0.2}\n"
    )
    assert script.voices.caller == "bf_emma"
    assert script.turns[0].pause_s == 0.6
    assert script.turns[1].pause_s == -0.2
    with pytest.raises(ValidationError):
        CallScript.from_yaml("turns: [{speaker: nurse, text: hi}]")
    with pytest.raises(ValidationError):
        CallScript.from_yaml("turns: []")
    with pytest.raises(ValidationError):
        CallScript.from_yaml("turns: [{speaker: caller, text: ''}]")


def test_call_script_loads_from_file(tmp_path: Path) -> None:
    path = tmp_path / "call.yaml"
    path.write_text("turns:\n  - {speaker: agent, text: Good morning}\n", encoding="utf-8")
    assert CallScript.from_yaml(path).turns[0].speaker == "agent"
    assert CallScript.from_yaml(str(path)).turns[0].text == "Good morning"


def test_render_call_puts_each_speaker_on_its_channel_with_pauses() -> None:
    script = CallScript.model_validate(
        {
            "turns": [
                {"speaker": "caller", "text": "I think my prescription is wrong.", "pause_s": 0.5},
                {"speaker": "agent", "text": "Let me check that for you.", "pause_s": 0.8},
                {"speaker": "caller", "text": "Thank you.", "pause_s": 0.4},
            ],
            "trailing_silence_s": 1.0,
        }
    )
    stereo, timings = render_call(script, engine="espeak")
    rate = 8000
    assert stereo.dtype == np.int16 and stereo.shape[1] == 2
    assert [t["speaker"] for t in timings] == ["caller", "agent", "caller"]
    assert timings[0]["start_s"] == pytest.approx(0.5, abs=0.01)
    assert timings[1]["start_s"] - timings[0]["end_s"] == pytest.approx(0.8, abs=0.01)
    assert timings[2]["start_s"] - timings[1]["end_s"] == pytest.approx(0.4, abs=0.01)
    assert len(stereo) / rate == pytest.approx(timings[-1]["end_s"] + 1.0, abs=0.01)

    def seg(channel: int, start: float, end: float) -> np.ndarray:
        return stereo[int(start * rate) : int(end * rate), channel]

    agent_turn = timings[1]
    # While the agent speaks the caller channel is silent, and the other way round.
    assert _rms(seg(1, agent_turn["start_s"], agent_turn["end_s"])) > 1000
    assert _rms(seg(0, agent_turn["start_s"], agent_turn["end_s"])) == 0
    first = timings[0]
    assert _rms(seg(0, first["start_s"], first["end_s"])) > 1000
    assert _rms(seg(1, first["start_s"], first["end_s"])) == 0
    assert _rms(seg(0, 0.0, 0.45)) == 0


def test_render_call_negative_pause_overlaps() -> None:
    script = CallScript.model_validate(
        {
            "turns": [
                {"speaker": "agent", "text": "So the appointment is on Tuesday morning."},
                {"speaker": "caller", "text": "Sorry, which day?", "pause_s": -0.7},
            ]
        }
    )
    stereo, timings = render_call(script, engine="espeak")
    assert timings[1]["start_s"] == pytest.approx(timings[0]["end_s"] - 0.7, abs=0.01)
    lo, hi = int(timings[1]["start_s"] * 8000), int(timings[0]["end_s"] * 8000)
    assert _rms(stereo[lo:hi, 0]) > 0 and _rms(stereo[lo:hi, 1]) > 0


kokoro = pytest.mark.skipif(not kokoro_available(), reason="Kokoro (the tts extra) not installed")


@pytest.mark.slow
@kokoro
@pytest.mark.parametrize("voice", ["af_heart", "bm_george"])
def test_kokoro_synthesizes_natural_speech(voice: str) -> None:
    pcm, rate = synthesize(SENTENCE, voice, engine="kokoro")
    assert rate == 24_000 and pcm.dtype == np.int16
    assert 2.0 < len(pcm) / rate < 7.0
    assert _rms(pcm) > 1000
    assert _speech_fraction(pcm, rate) > 0.4


@pytest.mark.slow
@kokoro
def test_kokoro_speaks_with_a_dialect_accent() -> None:
    text = "I have a sharp pain in my chest."
    plain, rate = synthesize(text, "af_heart", engine="kokoro")
    accent, _ = synthesize(text, "af_heart@en-gb-x-gbcwmd", engine="kokoro")
    assert _rms(accent) > 1000 and _speech_fraction(accent, rate) > 0.4
    # Different phonemes, so different audio from the same voice.
    n = min(len(plain), len(accent))
    assert len(plain) != len(accent) or not np.array_equal(plain[:n], accent[:n])


@pytest.mark.slow
@kokoro
def test_kokoro_unknown_voice_lists_available() -> None:
    with pytest.raises(SpeechSynthError, match="af_heart"):
        synthesize("hello", "af_nobody", engine="kokoro")


@pytest.mark.slow
@kokoro
def test_kokoro_model_join_is_verified_and_repaired(tmp_path: Path) -> None:
    path = speech_synth.ensure_kokoro_model(tmp_path)
    assert path.stat().st_size == speech_synth.KOKORO_MODEL_SIZE
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == speech_synth.KOKORO_MODEL_SHA256
    assert not list(path.parent.glob(".kokoro-*"))  # no temporary file left behind
    # A truncated model (an interrupted copy made by hand) is joined again.
    with path.open("r+b") as f:
        f.truncate(1000)
    again = speech_synth.ensure_kokoro_model(tmp_path)
    assert again.stat().st_size == speech_synth.KOKORO_MODEL_SIZE
