"""The committed speech assets: the demo call and the ASR benchmark corpus are what they claim."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.wav_files import read_wav, write_mulaw, write_pcm16
from carecue_sim.speech_synth import CallScript

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "carecue_sim" / "demo_call"
CORPUS = ROOT / "bench" / "corpus"


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0


def test_wav_round_trip(tmp_path: Path) -> None:
    t = np.arange(8000) / 8000
    tone = (np.sin(2 * np.pi * 440 * t) * 12000).astype(np.int16)
    stereo = np.stack([tone, -tone], axis=1)
    write_mulaw(tmp_path / "m.wav", stereo, 8000)
    write_pcm16(tmp_path / "p.wav", stereo, 16000)
    m, rate, enc, _ = read_wav(tmp_path / "m.wav")
    assert (rate, enc, m.shape) == (8000, "mulaw", (8000, 2))
    # G.711 quantisation error stays within a few percent of full scale.
    assert np.max(np.abs(m.astype(np.int32) - stereo)) < 600
    p, rate, enc, _ = read_wav(tmp_path / "p.wav")
    assert (rate, enc) == (16000, "pcm_s16le")
    assert np.array_equal(p, stereo)


def test_demo_call_is_stereo_mulaw_with_matching_turns() -> None:
    audio, rate, encoding, _ = read_wav(DEMO / "sample_call.wav")
    assert (rate, encoding, audio.shape[1]) == (8000, "mulaw", 2)
    duration = len(audio) / rate
    assert 60 <= duration <= 90

    script = CallScript.from_yaml(DEMO / "sample_call.yaml")
    timing = json.loads((DEMO / "sample_call.turns.json").read_text(encoding="utf-8"))
    turns = timing["turns"]
    assert [t["text"] for t in turns] == [t.text for t in script.turns]
    assert script.voices.caller != script.voices.agent
    for turn in turns:
        assert 0 <= turn["start_s"] < turn["end_s"] <= duration
        own = 0 if turn["speaker"] == "caller" else 1
        lo, hi = int(turn["start_s"] * rate), int(turn["end_s"] * rate)
        # Each speaker is on their own channel: speech there, silence on the other.
        assert _rms(audio[lo:hi, own]) > 1000
        assert _rms(audio[lo:hi, 1 - own]) < 50


def test_demo_call_tells_the_scripted_story() -> None:
    script = CallScript.from_yaml(DEMO / "sample_call.yaml")
    texts = [(t.speaker, t.text.lower()) for t in script.turns]
    fear = next(i for i, (s, t) in enumerate(texts) if s == "caller" and "terrified" in t)
    ack = next(i for i, (s, t) in enumerate(texts) if s == "agent" and "hear how worried" in t)
    assert fear < len(texts) // 3  # the fear comes early
    assert texts[fear + 1][0] == "agent"  # and the agent answers it by rushing on
    assert "hear" not in texts[fear + 1][1]
    assert ack > fear + 2
    assert any(s == "caller" and "calmer" in t for s, t in texts[ack:])


def test_corpus_manifest_matches_files() -> None:
    entries = [
        json.loads(line)
        for line in (CORPUS / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    spec = yaml.safe_load((CORPUS / "utterances.yaml").read_text(encoding="utf-8"))
    texts = {u["id"]: u["text"] for u in spec["utterances"]}
    assert len(texts) >= 48
    tiers = {e["tier"] for e in entries}
    assert tiers == {"clean", "accent", "noisy", "espeak"}
    clean = [e for e in entries if e["tier"] == "clean"]
    assert {e["utterance_id"] for e in clean} == set(texts)
    kokoro_voices = {e["voice"] for e in clean}
    assert {v[:2] for v in kokoro_voices} >= {"af", "am", "bf", "bm"}
    accent = [e for e in entries if e["tier"] == "accent"]
    # Natural voices with espeak-ng dialect pronunciation, several dialects.
    assert all(e["tts"] == "kokoro" and "@en-" in e["voice"] for e in accent)
    assert len({e["voice"].split("@")[1] for e in accent}) >= 4
    assert all(e["voice"].startswith("espeak:") for e in entries if e["tier"] == "espeak")
    noisy = [e for e in entries if e["tier"] == "noisy"]
    assert noisy and all(10.0 <= e["snr_db"] <= 15.0 for e in noisy)
    assert len({e["id"] for e in entries}) == len(entries)
    for e in entries:
        assert e["text"] == texts[e["utterance_id"]]
        assert e["speech_start_s"] < e["speech_end_s"] <= e["duration_s"]


@pytest.mark.parametrize(
    "fmt,rate,encoding", [("8k_mulaw", 8000, "mulaw"), ("16k_pcm", 16000, "pcm_s16le")]
)
def test_corpus_audio_files(fmt: str, rate: int, encoding: str) -> None:
    entries = [
        json.loads(line)
        for line in (CORPUS / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    for e in entries:
        audio, r, enc, _ = read_wav(CORPUS / e["paths"][fmt])
        assert (r, enc, audio.shape[1]) == (rate, encoding, 1), e["id"]
        assert len(audio) / rate == pytest.approx(e["duration_s"], abs=0.01)
        lo, hi = int(e["speech_start_s"] * rate), int(e["speech_end_s"] * rate)
        speech = _rms(audio[lo:hi, 0])
        lead = _rms(audio[: max(1, lo - rate // 50), 0])
        assert speech > 800, e["id"]
        if e["tier"] == "noisy":
            # White noise 10-15 dB below speech (band-limited a little by resampling).
            assert 3.0 < 20 * np.log10(speech / max(lead, 1.0)) < 20.0, e["id"]
        else:
            assert lead < 100, e["id"]
