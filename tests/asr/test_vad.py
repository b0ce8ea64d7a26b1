"""Silero VAD on real speech, and the endpointer's rules."""

from __future__ import annotations

import numpy as np
import pytest

from asr.vad import WINDOW, Boundary, EndpointConfig, Endpointer, get_vad
from tests.asr.conftest import APPOINTMENT, SICK, Speak, silence

RATE = 16000


def _segments(audio: np.ndarray, chunk: int, config: EndpointConfig | None = None) -> list:
    stream = get_vad().stream()
    endpointer = Endpointer(config)
    boundaries: list[Boundary] = []
    pos = 0
    for i in range(0, len(audio), chunk):
        probs, _ = stream.process(audio[i : i + chunk])
        for p in probs:
            boundaries += endpointer.step(float(p), pos, pos + WINDOW)
            pos += WINDOW
    probs, _ = stream.flush()
    for p in probs:
        boundaries += endpointer.step(float(p), pos, pos + WINDOW)
        pos += WINDOW
    boundaries += endpointer.flush()
    return boundaries


def _voiced_extent(x: np.ndarray) -> tuple[float, float]:
    """First and last sample above -40 dBFS: where the speech in a clip really is."""
    loud = np.nonzero(np.abs(x) > 0.01)[0]
    return loud[0] / RATE, (loud[-1] + 1) / RATE


@pytest.fixture(scope="module")
def two_utterances(speak: Speak) -> tuple[np.ndarray, list[tuple[float, float]]]:
    a, b = speak(SICK), speak(APPOINTMENT)
    lead, gap = 1.0, 1.5
    audio = np.concatenate([silence(lead), a, silence(gap), b, silence(1.0)])
    b_at = lead + len(a) / RATE + gap
    truth = [
        tuple(lead + t for t in _voiced_extent(a)),
        tuple(b_at + t for t in _voiced_extent(b)),
    ]
    return audio, truth  # type: ignore[return-value]


def test_silence_and_hiss_have_no_speech() -> None:
    rng = np.random.default_rng(1)
    hiss = (0.003 * rng.standard_normal(RATE * 3)).astype(np.float32)
    assert _segments(silence(3.0), 320) == []
    assert _segments(hiss, 320) == []


@pytest.mark.parametrize("chunk", [160, 320, 512, 4000])
def test_two_utterances_are_segmented(two_utterances, chunk: int) -> None:  # type: ignore[no-untyped-def]
    audio, truth = two_utterances
    b = _segments(audio, chunk)
    assert [x.kind for x in b] == ["start", "end", "start", "end"]
    for (start, end), (b_start, b_end) in zip(truth, [(b[0], b[1]), (b[2], b[3])], strict=True):
        # VAD windows are 32 ms and the model reacts within a few windows
        assert abs(b_start.sample / RATE - start) < 0.2
        assert abs(b_end.sample / RATE - end) < 0.2


def test_probabilities_do_not_depend_on_chunking(two_utterances) -> None:  # type: ignore[no-untyped-def]
    audio = two_utterances[0][: RATE * 4]
    whole, _ = get_vad().stream().process(audio)
    stream = get_vad().stream()
    parts = [stream.process(audio[i : i + 333])[0] for i in range(0, len(audio), 333)]
    assert np.allclose(whole, np.concatenate(parts), atol=1e-5)


def test_short_pause_inside_speech_does_not_end_the_utterance(speak: Speak) -> None:
    a = speak("Hello there.")
    start, end = _voiced_extent(a)
    a = a[int(start * RATE) : int(end * RATE)]  # so the pause is exactly 0.3 s
    audio = np.concatenate([silence(0.5), a, silence(0.3), a, silence(1.0)])
    kinds = [x.kind for x in _segments(audio, 320, EndpointConfig(end_silence_s=0.6))]
    assert kinds == ["start", "end"]
    kinds = [x.kind for x in _segments(audio, 320, EndpointConfig(end_silence_s=0.15))]
    assert kinds == ["start", "end", "start", "end"]


# --- the endpointer alone, on scripted probabilities ------------------------------------


def _run(probs: list[float], config: EndpointConfig) -> list[Boundary]:
    ep = Endpointer(config)
    out: list[Boundary] = []
    for i, p in enumerate(probs):
        out += ep.step(p, i * WINDOW, (i + 1) * WINDOW)
    return out + ep.flush()


def test_endpoint_waits_for_the_configured_silence() -> None:
    cfg = EndpointConfig(end_silence_s=0.5)
    windows_500ms = int(np.ceil(0.5 * RATE / WINDOW))  # 16 windows
    probs = [0.9] * 20 + [0.0] * (windows_500ms - 1) + [0.9] * 5 + [0.0] * 40
    b = _run(probs, cfg)
    assert [x.kind for x in b] == ["start", "end"]  # the 15-window gap was too short
    assert b[1].sample == 20 * WINDOW + (windows_500ms - 1) * WINDOW + 5 * WINDOW


def test_a_single_spike_does_not_start_speech() -> None:
    cfg = EndpointConfig(min_speech_s=0.09)
    assert _run([0.0, 0.95, 0.0, 0.0, 0.97, 0.1] * 10, cfg) == []
    assert [x.kind for x in _run([0.0, 0.95, 0.9, 0.9, 0.0], cfg)] == ["start", "end"]


def test_hysteresis_keeps_soft_endings_in_speech() -> None:
    cfg = EndpointConfig(threshold=0.5, neg_threshold=0.35, end_silence_s=0.1)
    b = _run([0.9] * 5 + [0.4] * 10 + [0.0] * 10, cfg)
    assert b == [Boundary("start", 0), Boundary("end", 15 * WINDOW)]


def test_long_speech_is_cut_at_the_maximum_length() -> None:
    cfg = EndpointConfig(max_utterance_s=1.0)
    b = _run([0.9] * 100, cfg)
    cuts = [x for x in b if x.kind == "cut"]
    assert len(cuts) == 3  # 100 windows = 3.2 s
    assert all(c.sample - p.sample <= RATE + WINDOW for p, c in zip(b, cuts, strict=False))
    assert b[-1].kind == "end" and b[-1].sample == 100 * WINDOW


def test_a_short_pause_near_the_maximum_length_ends_the_utterance() -> None:
    cfg = EndpointConfig(max_utterance_s=2.0, cut_search_s=1.0, cut_silence_s=0.1)
    # 0.64 s speech, 0.13 s pause (kept: too early), 0.96 s speech, 0.13 s pause (ends it)
    probs = [0.9] * 20 + [0.0] * 4 + [0.9] * 30 + [0.0] * 4 + [0.9] * 20 + [0.0] * 30
    b = _run(probs, cfg)
    assert [x.kind for x in b] == ["start", "end", "start", "end"]
    assert b[1].sample == 54 * WINDOW
    assert b[2].sample == 58 * WINDOW
